import { describe, expect, it } from 'vitest';
import type { DecoderBatch, DecoderModel } from '../../src/runtime/generation/decoder-model.js';
import { generate } from '../../src/runtime/generation/generate.js';
import {
  MinNewTokensProcessor,
  RepetitionPenaltyProcessor,
  softmax,
  SuppressTokensProcessor,
  TemperatureProcessor,
  TopKProcessor,
  TopPProcessor,
} from '../../src/runtime/generation/logits-processors.js';
import { GreedySampler, MultinomialSampler } from '../../src/runtime/generation/samplers.js';

interface FakeCache {
  /** Per row: every token fed so far with its mask bit and position. */
  fed: { token: number; mask: number; position: number }[][];
}

/**
 * A tiny deterministic decoder: the next token is (last real token + 1) mod V with a margin
 * of 3 over (last + 2) mod V, and every other token far behind. It checks what the loop feeds
 * it: the mask must extend the cache, positions must count the real tokens before them.
 */
class CountingModel implements DecoderModel<FakeCache> {
  readonly calls: DecoderBatch[] = [];
  constructor(
    readonly vocabSize = 10,
    readonly eosTokenIds: readonly number[] = [],
    private readonly lastOnly = false,
  ) {}

  async forward(batch: DecoderBatch, cache: FakeCache | undefined) {
    this.calls.push(batch);
    const { batchSize, length, pastLength } = batch;
    const fed =
      cache === undefined ? Array.from({ length: batchSize }, () => []) : cache.fed.map((row) => [...row]);
    const positions = this.lastOnly ? 1 : length;
    const logits = new Float32Array(batchSize * positions * this.vocabSize).fill(-10);
    for (let row = 0; row < batchSize; row += 1) {
      const width = pastLength + length;
      for (let column = 0; column < length; column += 1) {
        const token = Number(batch.inputIds[row * length + column]);
        const mask = Number(batch.attentionMask[row * width + pastLength + column]);
        const position = Number(batch.positionIds[row * length + column]);
        const realBefore = fed[row].filter((entry) => entry.mask === 1).length;
        if (mask === 1 && position !== realBefore)
          throw new Error(`row ${row}: position ${position} ≠ ${realBefore}`);
        fed[row].push({ token, mask, position });
      }
      for (let column = 0; column < pastLength; column += 1)
        if (Number(batch.attentionMask[row * width + column]) !== fed[row][column].mask)
          throw new Error(`row ${row}: the mask of cached position ${column} changed`);
      const real = fed[row].filter((entry) => entry.mask === 1);
      const last = real[real.length - 1]?.token ?? 0;
      const base = (row * positions + positions - 1) * this.vocabSize;
      logits[base + ((last + 1) % this.vocabSize)] = 5;
      logits[base + ((last + 2) % this.vocabSize)] = 2;
    }
    return { logits, cache: { fed } };
  }
}

const letters = (tokens: readonly number[]) =>
  tokens.map((token) => String.fromCharCode(97 + token)).join('');

describe('generate (greedy)', () => {
  it('continues prompts of different lengths in one batch exactly as it would one at a time', async () => {
    const prompts = [[1], [3, 4, 5], [7, 8]];
    const model = new CountingModel();
    const batched = await generate(model, prompts, { maxNewTokens: 4 });
    expect(batched.map((result) => result.tokens)).toEqual([
      [2, 3, 4, 5],
      [6, 7, 8, 9],
      [9, 0, 1, 2],
    ]);
    expect(batched.every((result) => result.finishReason === 'length')).toBe(true);
    expect(batched.map((result) => result.promptTokenCount)).toEqual([1, 3, 2]);
    for (const [index, prompt] of prompts.entries()) {
      const [alone] = await generate(new CountingModel(), [prompt], { maxNewTokens: 4 });
      expect(alone.tokens).toEqual(batched[index].tokens);
    }
    expect(model.calls[0].length).toBe(3);
    expect(Array.from(model.calls[0].attentionMask.slice(0, 3), Number)).toEqual([0, 0, 1]);
    expect(model.calls.slice(1).every((call) => call.length === 1)).toBe(true);
  });

  it('releases every cache it replaces and the last one when done', async () => {
    const released: FakeCache[] = [];
    const model = new CountingModel();
    const withRelease: DecoderModel<FakeCache> = {
      vocabSize: 10,
      eosTokenIds: [],
      forward: (batch, cache) => model.forward(batch, cache),
      releaseCache: (cache) => released.push(cache),
    };
    await generate(withRelease, [[1]], { maxNewTokens: 3 });
    expect(released.map((cache) => cache.fed[0].length)).toEqual([1, 2, 3]);
  });

  it('reads the last position when the model returns only last-position logits', async () => {
    const [result] = await generate(new CountingModel(10, [], true), [[2, 3]], { maxNewTokens: 3 });
    expect(result.tokens).toEqual([4, 5, 6]);
  });

  it('stops a row at its end-of-sequence token and masks it while the others continue', async () => {
    const model = new CountingModel(10, [0]);
    const results = await generate(model, [[7], [1]], { maxNewTokens: 5 });
    expect(results[0]).toMatchObject({ tokens: [8, 9], generatedTokenCount: 3, finishReason: 'eos' });
    expect(results[1]).toMatchObject({ tokens: [2, 3, 4, 5, 6], finishReason: 'length' });
    const last = model.calls.at(-1) as DecoderBatch;
    const width = last.pastLength + last.length;
    expect(Number(last.attentionMask[width - 1])).toBe(0); // row 0 finished: its new position is masked
    expect(Number(last.attentionMask[2 * width - 1])).toBe(1);
  });

  it('stops on a stop string found in the decoded tail and cuts the text before it', async () => {
    const [result, other] = await generate(new CountingModel(), [[1], [4]], {
      maxNewTokens: 8,
      stopStrings: ['de'],
      decode: letters,
    });
    expect(result).toMatchObject({ finishReason: 'stop', stopString: 'de', text: 'c' });
    expect(result.tokens).toEqual([2, 3, 4]);
    expect(other).toMatchObject({ finishReason: 'length', text: 'fghijabc' });
  });

  it('stops every row after maxNewTokens and stops calling the model once all rows are done', async () => {
    const model = new CountingModel();
    const results = await generate(model, [[0], [5]], { maxNewTokens: 2 });
    expect(results.map((result) => result.tokens.length)).toEqual([2, 2]);
    expect(model.calls.length).toBe(2);
  });

  it('honours suppressed tokens, minimum length and eos overrides', async () => {
    const [suppressed] = await generate(new CountingModel(), [[1]], { maxNewTokens: 1, suppressTokens: [2] });
    expect(suppressed.tokens).toEqual([3]); // (1 + 2), the runner-up
    const [early] = await generate(new CountingModel(10, [2]), [[1]], { maxNewTokens: 3, minNewTokens: 1 });
    expect(early.tokens[0]).toBe(3);
    const [overridden] = await generate(new CountingModel(10, [2]), [[1]], {
      maxNewTokens: 3,
      eosTokenIds: [3],
    });
    expect(overridden).toMatchObject({ tokens: [2], finishReason: 'eos' });
  });

  it('rejects bad prompts, bad settings, stop strings without decode and a wrong logits shape', async () => {
    await expect(generate(new CountingModel(), [[1, 12]])).rejects.toThrow(
      /token id 12, outside the vocabulary/,
    );
    await expect(generate(new CountingModel(), [[]])).rejects.toThrow(/prompt 0 is empty/);
    await expect(generate(new CountingModel(), [[1]], { maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
    await expect(generate(new CountingModel(), [[1]], { stopStrings: ['x'] })).rejects.toThrow(/decode/);
    const inner = new CountingModel(10);
    const wrongVocabulary: DecoderModel<FakeCache> = {
      vocabSize: 7,
      eosTokenIds: [],
      forward: (batch, cache) => inner.forward(batch, cache),
    };
    await expect(generate(wrongVocabulary, [[1]])).rejects.toThrow(/check the model's vocabSize/);
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('client went away'));
    await expect(generate(new CountingModel(), [[1]], { signal: controller.signal })).rejects.toThrow(
      /went away/,
    );
  });
});

describe('generate (sampling)', () => {
  it('reproduces the same tokens for the same seed and varies across seeds', async () => {
    const options = { maxNewTokens: 12, doSample: true, temperature: 3 };
    const first = await generate(new CountingModel(), [[1], [4, 5]], { ...options, seed: 7 });
    const again = await generate(new CountingModel(), [[1], [4, 5]], { ...options, seed: 7 });
    expect(again).toEqual(first);
    const others = await Promise.all(
      [1, 2, 3].map((seed) => generate(new CountingModel(), [[1], [4, 5]], { ...options, seed })),
    );
    expect(others.some((other) => JSON.stringify(other) !== JSON.stringify(first))).toBe(true);
  });

  it('with top-k 1 sampling picks what greedy picks', async () => {
    const greedy = await generate(new CountingModel(), [[3]], { maxNewTokens: 6 });
    const sampled = await generate(new CountingModel(), [[3]], {
      maxNewTokens: 6,
      doSample: true,
      topK: 1,
      seed: 9,
    });
    expect(sampled[0].tokens).toEqual(greedy[0].tokens);
  });

  it('sums the log-probability of each chosen token under the distribution it was drawn from', async () => {
    // Logits: 5 for the counting token, 2 for the one after, −10 for the other 8 of 10.
    const logSoftmax = (score: number) => score - Math.log(Math.exp(5) + Math.exp(2) + 8 * Math.exp(-10));
    const [greedy] = await generate(new CountingModel(), [[3]], { maxNewTokens: 4 });
    expect(greedy.logProbability).toBeCloseTo(4 * logSoftmax(5), 5);
    const [sampled] = await generate(new CountingModel(), [[3]], {
      maxNewTokens: 6,
      doSample: true,
      temperature: 3,
      seed: 4,
    });
    const hot = (score: number) =>
      score / 3 - Math.log(Math.exp(5 / 3) + Math.exp(2 / 3) + 8 * Math.exp(-10 / 3));
    let expected = 0;
    let previous = 3;
    for (const token of sampled.tokens) {
      expected += hot(token === (previous + 1) % 10 ? 5 : token === (previous + 2) % 10 ? 2 : -10);
      previous = token;
    }
    expect(sampled.logProbability).toBeCloseTo(expected, 5);
  });

  it('draws tokens with the softmax frequencies', () => {
    const sampler = new MultinomialSampler(123);
    const logits = Float32Array.from([Math.log(0.7), Math.log(0.2), Math.log(0.1), -Infinity]);
    const counts = [0, 0, 0, 0];
    for (let draw = 0; draw < 5000; draw += 1) counts[sampler.sample(Float32Array.from(logits))] += 1;
    expect(counts[0] / 5000).toBeCloseTo(0.7, 1);
    expect(counts[1] / 5000).toBeCloseTo(0.2, 1);
    expect(counts[2] / 5000).toBeCloseTo(0.1, 1);
    expect(counts[3]).toBe(0);
  });
});

describe('logits processors', () => {
  const context = { tokens: [], generatedCount: 0 };
  const probabilities = (values: number[]) => Float32Array.from(values.map(Math.log));

  it('top-k keeps the k best scores', () => {
    const logits = Float32Array.from([0.1, 3, 2, -1, 2.5]);
    new TopKProcessor(2).process(logits);
    expect(Array.from(logits)).toEqual([-Infinity, 3, -Infinity, -Infinity, 2.5]);
  });

  it('top-p keeps the smallest set whose mass reaches p', () => {
    const kept = (p: number) => {
      const logits = probabilities([0.15, 0.5, 0.05, 0.3]);
      new TopPProcessor(p).process(logits);
      return Array.from(logits, (score, index) => (score === -Infinity ? -1 : index)).filter(
        (index) => index >= 0,
      );
    };
    expect(kept(0.5)).toEqual([1]);
    expect(kept(0.7)).toEqual([1, 3]);
    expect(kept(0.81)).toEqual([0, 1, 3]);
    expect(kept(1)).toEqual([0, 1, 2, 3]);
    const renormalised = probabilities([0.15, 0.5, 0.05, 0.3]);
    new TopPProcessor(0.7).process(renormalised);
    expect(softmax(renormalised)[1]).toBeCloseTo(0.5 / 0.8, 5);
  });

  it('temperature flattens or sharpens the distribution', () => {
    const logits = Float32Array.from([2, 0]);
    new TemperatureProcessor(2).process(logits);
    expect(Array.from(logits)).toEqual([1, 0]);
    expect(() => new TemperatureProcessor(0)).toThrow(/temperature must be > 0/);
  });

  it('repetition penalty lowers tokens already in the row, on both signs', () => {
    const logits = Float32Array.from([2, -2, 2]);
    new RepetitionPenaltyProcessor(2).process(logits, { tokens: [0, 1, 0], generatedCount: 1 });
    expect(Array.from(logits)).toEqual([1, -4, 2]);
  });

  it('suppress and minimum-length processors mask their tokens', () => {
    const logits = Float32Array.from([1, 1, 1]);
    new SuppressTokensProcessor([2, 99]).process(logits);
    new MinNewTokensProcessor(2, [0]).process(logits, context);
    expect(Array.from(logits)).toEqual([-Infinity, 1, -Infinity]);
    expect(() => new GreedySampler().sample(Float32Array.from([-Infinity]))).toThrow(/every token is masked/);
  });
});
