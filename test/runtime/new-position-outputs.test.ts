import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelProtoType } from '../../src/engine/onnx-schema.js';
import { generate } from '../../src/runtime/generation/generate.js';
import { PrefixCache } from '../../src/runtime/generation/prefix-cache.js';
import { CacheBuffers } from '../../src/runtime/onnx/cache-buffers.js';
import { OnnxDecoderModel, type OnnxCache } from '../../src/runtime/onnx/onnx-decoder.js';
import { makeNanoBrick, nanoPrompts, type BrickFixture } from '../export/brick-fixture.js';
import { maxDifference, promptBatch, stepBatch } from './decoder-steps.js';

let fixture: BrickFixture;
let newPositions: OnnxDecoderModel;
let full: OnnxDecoderModel;

beforeAll(async () => {
  fixture = await makeNanoBrick('solver');
  newPositions = await OnnxDecoderModel.load(fixture.brickDirectory);
  full = await OnnxDecoderModel.load(fixture.brickDirectory, { newPositionOutputs: false });
});

afterAll(async () => {
  await newPositions?.close();
  await full?.close();
});

/** Prefill of `prompt`, then `steps` steps feeding token 7; returns every step's output. */
async function run(model: OnnxDecoderModel, prompt: number[], steps: number) {
  const outputs: { logits: Float32Array; cache: OnnxCache }[] = [];
  let output = await model.forward(promptBatch(prompt), undefined);
  outputs.push(output);
  for (let step = 0; step < steps; step += 1) {
    output = await model.forward(stepBatch(7, prompt.length + step), output.cache);
    outputs.push(output);
  }
  return outputs;
}

describe('new-position outputs', () => {
  it("are used for dnc's exported decoder", () => {
    expect(newPositions.fullOutputsReason).toBeUndefined();
    expect(full.fullOutputsReason).toBe('turned off (newPositionOutputs: false)');
  });

  it("give the full outputs' last-position logits and the same cache, step after step", async () => {
    const prompt = [...nanoPrompts[0]!];
    const ours = await run(newPositions, prompt, 3);
    const theirs = await run(full, prompt, 3);
    const V = full.vocabSize;
    for (const [step, output] of ours.entries()) {
      expect(output.logits).toHaveLength(V);
      const reference = theirs[step]!.logits;
      expect(maxDifference(output.logits, reference.subarray(reference.length - V))).toBeLessThan(1e-5);
      const { keyValueHeads, headDimension } = full.config;
      const expected = theirs[step]!.cache;
      expect(output.cache.length).toBe(expected.length);
      expect(output.cache.names).toEqual(expected.names);
      for (const name of output.cache.names) {
        const positions = (cache: OnnxCache) => cache.positions(name, keyValueHeads, headDimension);
        expect(maxDifference(positions(output.cache), positions(expected))).toBeLessThan(1e-5);
      }
    }
  });

  it('generate the same tokens and log-probabilities, batched and sampled, with a prefix cache', async () => {
    const options = { maxNewTokens: 12, eosTokenIds: [] as number[], doSample: true, seed: 5 };
    const ours = await generate(newPositions, nanoPrompts, options);
    const theirs = await generate(full, nanoPrompts, options);
    expect(ours.map((result) => result.tokens)).toEqual(theirs.map((result) => result.tokens));
    ours.forEach((result, index) =>
      expect(result.logProbability).toBeCloseTo(theirs[index]!.logProbability, 4),
    );
    // Prompts sharing a prefix: the kept prefix cache must survive the pooled buffers' reuse.
    const shared = [0, 4, 300, 301, 77, 12, 6, 5, 9, 10];
    const prompts = [
      [...shared, 20, 21],
      [...shared, 30],
    ];
    const prefix = await new PrefixCache(newPositions).prefix(shared);
    expect(prefix).toBeDefined();
    const greedy = { maxNewTokens: 8, eosTokenIds: [] as number[] };
    const expected = await generate(full, prompts, greedy);
    for (let repeat = 0; repeat < 3; repeat += 1)
      expect((await generate(newPositions, prompts, { ...greedy, prefix })).map((r) => r.tokens)).toEqual(
        expected.map((r) => r.tokens),
      );
  });

  it('fall back to the full outputs when a cache output is not a Concat of its past', async () => {
    const directory = join(fixture.root, 'identity-cache');
    await makeIdentityCacheBrick(fixture.brickDirectory, directory);
    const model = await OnnxDecoderModel.load(directory);
    try {
      expect(model.fullOutputsReason).toBe(
        "'present.0.key' is not a Concat of 'past_key_values.0.key' along the sequence axis",
      );
      const [alone] = await generate(model, [nanoPrompts[1]!], { maxNewTokens: 6, eosTokenIds: [] });
      const [reference] = await generate(full, [nanoPrompts[1]!], { maxNewTokens: 6, eosTokenIds: [] });
      expect(alone!.tokens).toEqual(reference!.tokens);
    } finally {
      await model.close();
    }
  });
});

/** A copy of the brick whose `present.0.key` is an Identity of the Concat (same values, other graph). */
async function makeIdentityCacheBrick(source: string, directory: string): Promise<void> {
  const { cp } = await import('node:fs/promises');
  await cp(source, directory, { recursive: true });
  const file = join(directory, 'onnx', 'model.onnx');
  const model = modelProtoType.decode(await readFile(file)) as unknown as {
    graph: { node: { output: string[]; input: string[]; opType: string; name?: string }[] };
  };
  const concat = model.graph.node.find((node) => node.output[0] === 'present.0.key')!;
  concat.output = ['present.0.key.concat'];
  model.graph.node.push({ opType: 'Identity', input: ['present.0.key.concat'], output: ['present.0.key'] });
  await writeFile(file, modelProtoType.encode(model).finish());
}

describe('CacheBuffers', () => {
  it('hands a given-back buffer out again, and never one still lent', () => {
    const buffers = new CacheBuffers(8);
    const first = buffers.take(100);
    const second = buffers.take(100);
    expect(first.buffer).not.toBe(second.buffer);
    expect(first).toHaveLength(100);
    buffers.give(first);
    const third = buffers.take(110); // room to grow: the 100-float take got more than 100
    expect(third.buffer).toBe(first.buffer);
    expect(third).toHaveLength(110);
    expect(buffers.take(100).buffer).not.toBe(second.buffer);
  });

  it('ignores a second give and arrays it did not lend', () => {
    const buffers = new CacheBuffers(8);
    const lent = buffers.take(64);
    buffers.give(lent);
    buffers.give(lent);
    buffers.give(new Float32Array(4096));
    const a = buffers.take(64);
    const b = buffers.take(64);
    expect(a.buffer).toBe(lent.buffer);
    expect(b.buffer).not.toBe(lent.buffer);
    expect(b.buffer.byteLength).toBeLessThan(4096 * 4);
  });

  it('keeps at most maxFreeBuffers free buffers', () => {
    const buffers = new CacheBuffers(2);
    const lent = [buffers.take(10), buffers.take(10), buffers.take(10)];
    for (const array of lent) buffers.give(array);
    expect(buffers.freeFloats).toBe(2 * 1024);
    expect(new ort.Tensor('float32', buffers.take(10), [10]).dims).toEqual([10]);
  });
});
