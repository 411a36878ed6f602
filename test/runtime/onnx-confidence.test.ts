import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { makeNanoBrick, type BrickFixture } from '../export/brick-fixture.js';

let fixture: BrickFixture;
let brick: OnnxBrick;
beforeAll(async () => {
  fixture = await makeNanoBrick('decomposer');
  brick = await OnnxBrick.load(fixture.brickDirectory, 'nano', { maxNewTokens: 24 });
});
afterAll(async () => {
  await brick.close();
  await rm(fixture.root, { recursive: true, force: true });
});

const input = { question: 'Where was the founder of Acme born?', maxSubquestions: 3 };

describe('ONNX decomposition confidence', () => {
  it('reports the mean and lowest token log-probability of the decomposition it kept', async () => {
    const result = await brick.decompose!(input);
    const confidence = result.confidence!;
    // Over the kept text: the greedy one, or the sample that replaced a faulty one.
    expect(confidence.tokens).toBeGreaterThan(0);
    expect(confidence.tokens).toBeLessThanOrEqual(result.usage.outputTokens);
    expect(confidence.meanLogProbability).toBeLessThanOrEqual(0);
    expect(confidence.minLogProbability).toBeLessThanOrEqual(confidence.meanLogProbability);
    expect(confidence.agreement).toBeUndefined();
  });

  it('draws agreement samples on request and charges them to the call', async () => {
    await brick.decompose!(input); // warm-up: the first call's CPU time includes compiling the session
    const plain = await brick.decompose!(input);
    const sampled = await brick.decompose!({ ...input, confidenceSamples: 4 });
    expect(sampled.confidence).toMatchObject({ samples: 4 });
    expect([0, 0.25, 0.5, 0.75, 1]).toContain(sampled.confidence!.agreement);
    expect(sampled.subquestions).toEqual(plain.subquestions);
    expect(sampled.usage.outputTokens).toBeGreaterThan(plain.usage.outputTokens);
    // The samples are charged: FLOPs count tokens (cost in dollars comes from measured CPU time).
    expect(sampled.flops).toBeGreaterThan(plain.flops!);
  });
});
