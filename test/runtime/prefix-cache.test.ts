/**
 * Prefix caching (src/runtime/generation/prefix-cache.ts): prompts that share a prefix prefill only
 * what follows it, and still get the tokens a full prefill gives them (the real ONNX decoder).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecoderBatch, DecoderModel } from '../../src/runtime/generation/decoder-model.js';
import { generate } from '../../src/runtime/generation/generate.js';
import { commonPrefix, PrefixCache } from '../../src/runtime/generation/prefix-cache.js';
import { OnnxDecoderModel, type OnnxCache } from '../../src/runtime/onnx/onnx-decoder.js';
import { makeNanoBrick } from '../export/brick-fixture.js';

/** The ONNX decoder, recording every forward's batch. */
class RecordingDecoder implements DecoderModel<OnnxCache> {
  readonly batches: DecoderBatch[] = [];
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];

  constructor(private readonly inner: OnnxDecoderModel) {
    this.vocabSize = inner.vocabSize;
    this.eosTokenIds = inner.eosTokenIds;
  }

  forward(batch: DecoderBatch, cache: OnnxCache | undefined) {
    this.batches.push(batch);
    return this.inner.forward(batch, cache);
  }

  selectRows(cache: OnnxCache, rows: readonly number[]) {
    return this.inner.selectRows(cache, rows);
  }
}

let model: OnnxDecoderModel;

beforeAll(async () => {
  model = await OnnxDecoderModel.load((await makeNanoBrick('solver', 7, 0.2)).brickDirectory);
});

afterAll(async () => model?.close());

/** A 24-token "system prompt" every prompt starts with, then questions of different lengths. */
const shared = [
  0, 4, 300, 301, 77, 12, 6, 9, 40, 41, 42, 120, 121, 7, 8, 19, 200, 201, 202, 33, 34, 35, 3, 2,
];
const prompts = [
  [...shared, 45, 5],
  [...shared, 99, 6, 4, 123, 200, 310, 411, 6, 5],
  [...shared, 7, 8, 9, 10, 11, 6, 5],
];
const settings = { maxNewTokens: 12, eosTokenIds: [] as number[] };

describe('prefix caching', () => {
  it('gives every prompt the tokens a full prefill gives, feeding only what follows the prefix', async () => {
    const full = await generate(model, prompts, settings);
    const recording = new RecordingDecoder(model);
    const cache = new PrefixCache(recording);
    const prefix = await cache.prefix(commonPrefix(prompts));
    expect(prefix?.tokens).toEqual(shared);
    const cached = await generate(recording, prompts, { ...settings, prefix });
    expect(cached.map((result) => result.tokens)).toEqual(full.map((result) => result.tokens));
    for (const [index, result] of cached.entries()) {
      expect(result.promptTokenCount).toBe(prompts[index]!.length);
      expect(result.logProbability).toBeCloseTo(full[index]!.logProbability, 3);
    }
    // One forward for the prefix (24 tokens, batch 1), then the prompts' first step feeds their
    // tails (9 tokens, the longest) after it, not 33 tokens each.
    expect(recording.batches[0]).toMatchObject({ batchSize: 1, length: shared.length, pastLength: 0 });
    expect(recording.batches[1]).toMatchObject({ batchSize: 3, length: 9, pastLength: shared.length });
    // Each prompt alone, with the kept prefix: the same tokens, and the prefix is not computed again.
    for (const [index, prompt] of prompts.entries()) {
      const [alone] = await generate(recording, [prompt], {
        ...settings,
        prefix: await cache.prefix(shared),
      });
      expect(alone!.tokens).toEqual(full[index]!.tokens);
    }
    expect(cache.computed).toBe(1);
  });

  it('is ignored for a batch holding a prompt that does not start with it or ends with it', async () => {
    const recording = new RecordingDecoder(model);
    const prefix = await new PrefixCache(recording).prefix(shared);
    const other = [0, 4, 45, 5];
    for (const batch of [
      [prompts[0]!, other],
      [prompts[1]!, shared],
    ]) {
      recording.batches.length = 0;
      const full = await generate(model, batch, settings);
      const withPrefix = await generate(recording, batch, { ...settings, prefix });
      expect(withPrefix.map((result) => result.tokens)).toEqual(full.map((result) => result.tokens));
      expect(recording.batches[0]!.pastLength).toBe(0);
    }
  });

  it('keeps the most recently used prefixes, and skips prefixes too short to be worth it', async () => {
    const cache = new PrefixCache(model, { capacity: 2, minTokens: 4 });
    expect(await cache.prefix([0, 4, 5])).toBeUndefined();
    await cache.prefix([0, 4, 5, 6]);
    await cache.prefix([0, 4, 5, 7]);
    await cache.prefix([0, 4, 5, 6]); // used again: [0, 4, 5, 7] is now the oldest
    await cache.prefix([0, 4, 5, 8]); // evicts [0, 4, 5, 7]
    expect(cache.computed).toBe(3);
    await cache.prefix([0, 4, 5, 6]);
    expect(cache.computed).toBe(3);
    await cache.prefix([0, 4, 5, 7]);
    expect(cache.computed).toBe(4);
    await expect(cache.prefix([0, 4, 5, 100_000])).rejects.toThrow(/outside the vocabulary/);
  });

  it('finds the longest common prefix', () => {
    expect(
      commonPrefix([
        [1, 2, 3, 4],
        [1, 2, 3],
        [1, 2, 9],
      ]),
    ).toEqual([1, 2]);
    expect(commonPrefix([[5, 6]])).toEqual([5, 6]);
    expect(commonPrefix([[1], [2]])).toEqual([]);
  });
});
