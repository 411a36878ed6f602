import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brickIdentity } from '../../src/eval/brick-identity.js';
import { BrickCallCache, callKey, canonicalJson, type CallOwner } from '../../src/eval/brick-cache.js';
import type { Brick, SolveInput } from '../../src/runtime/bricks/brick.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-eval-cache-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A solver that counts its calls, answers the question back, costs $0.01, and fails on "boom". */
function countingSolver() {
  const state = { calls: 0 };
  const brick: Brick = {
    specificationVersion: 'v1',
    spec: 'openai:counting',
    kind: 'openai',
    model: 'counting',
    solve: async (input: SolveInput) => {
      state.calls += 1;
      await delay(20);
      if (input.question === 'boom') throw new Error('boom');
      return {
        subanswers: [],
        answer: input.question.toUpperCase(),
        usage: { inputTokens: 100, outputTokens: 10 },
        latencyMs: 20,
        costUsd: 0.01,
        raw: `The answer is: ${input.question.toUpperCase()}`,
        warnings: [],
        finishReason: 'stop',
      };
    },
  };
  return { brick, state };
}

const site = { identity: 'id-1', scope: 'scope-1' };
const owner = (run: string, exampleId = 'e1'): CallOwner => ({ run, chain: 'c', dataset: 'd', exampleId });
const ask = (question: string): SolveInput => ({ question, subquestions: [], previous: [] });

describe('the brick-call cache', () => {
  it('hashes inputs by content: key order and the AbortSignal do not matter, the call site does', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3] } })).toBe('{"a":{"c":[3],"d":2},"b":1}');
    const input = { question: 'q', subquestions: ['x'] };
    const reordered = { subquestions: ['x'], question: 'q', signal: new AbortController().signal };
    expect(callKey(site, 'solve', input)).toBe(callKey(site, 'solve', reordered));
    expect(callKey(site, 'solve', input)).not.toBe(
      callKey({ ...site, scope: 'other chain' }, 'solve', input),
    );
    expect(callKey(site, 'solve', input)).not.toBe(callKey(site, 'decompose', input));
  });

  it('makes concurrent identical calls once and serves later ones for $0, saving their cost', async () => {
    const file = join(root, 'concurrent.jsonl');
    const { brick, state } = countingSolver();
    const cache = await BrickCallCache.open(file);
    const view = cache.bind(brick, site, owner('run-1'));
    const [first, second] = await Promise.all([view.solve!(ask('hi')), view.solve!(ask('hi'))]);
    expect(state.calls).toBe(1);
    expect(first).toMatchObject({ answer: 'HI', costUsd: 0.01 });
    expect(second).toMatchObject({ answer: 'HI', costUsd: 0, savedUsd: 0.01, cached: true, latencyMs: 0 });
    await expect(view.solve!(ask('boom'))).rejects.toThrow('boom');
    await expect(view.solve!(ask('boom'))).rejects.toThrow('boom');
    expect(state.calls).toBe(3); // failures are not stored
    await cache.close();

    const reopened = await BrickCallCache.open(file);
    expect(reopened.size).toBe(1);
    const again = await reopened.bind(brick, site, owner('run-2')).solve!(ask('hi'));
    expect(again).toMatchObject({ answer: 'HI', costUsd: 0, savedUsd: 0.01, cached: true });
    expect(state.calls).toBe(3);
    await reopened.close();
  });

  it('replays a call paid for by the same example of the same run (killed before its trace) as paid, once', async () => {
    const file = join(root, 'replay.jsonl');
    const { brick } = countingSolver();
    const killed = await BrickCallCache.open(file);
    await killed.bind(brick, site, owner('run-1')).solve!(ask('hi'));
    await killed.close();
    const resumed = await BrickCallCache.open(file);
    const view = resumed.bind(brick, site, owner('run-1'));
    expect(await view.solve!(ask('hi'))).toMatchObject({ costUsd: 0.01, latencyMs: 20 });
    expect((await view.solve!(ask('hi'))).cached).toBe(true);
    const other = await resumed.bind(brick, site, owner('run-1', 'e2')).solve!(ask('hi'));
    expect(other).toMatchObject({ costUsd: 0, savedUsd: 0.01 });
    await resumed.close();
  });

  it('identifies a brick directory by its files, not its path', async () => {
    const brick = join(root, 'brick');
    await mkdir(join(brick, 'onnx'), { recursive: true });
    await writeFile(join(brick, 'brick.json'), '{"role":"decomposer"}');
    await writeFile(join(brick, 'onnx', 'model.onnx'), 'weights-1');
    const before = await brickIdentity(brick);
    expect(await brickIdentity(join(root, '.', 'brick'))).toBe(before);
    await writeFile(join(brick, 'onnx', 'model.onnx'), 'weights-2');
    expect(await brickIdentity(brick)).not.toBe(before);
    expect(await brickIdentity('openai:gpt-4o-mini')).not.toBe(await brickIdentity('openai:gpt-4o'));
  });
});
