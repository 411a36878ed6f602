import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecoderBatch, DecoderModel } from '../../src/runtime/generation/decoder-model.js';
import { generate } from '../../src/runtime/generation/generate.js';
import { JoinableGeneration, type JoinedResult } from '../../src/runtime/generation/joinable-generation.js';
import { PrefixCache } from '../../src/runtime/generation/prefix-cache.js';
import { OnnxDecoderModel, type OnnxCache } from '../../src/runtime/onnx/onnx-decoder.js';
import { makeNanoBrick, nanoPrompts } from '../export/brick-fixture.js';

/**
 * The ONNX decoder, recording every forward's batch size; before the forward numbered `at` it runs
 * `hook` (a join, a cancellation), so that things happen at a chosen step, not after a sleep.
 */
class SteppedDecoder implements DecoderModel<OnnxCache> {
  readonly batchSizes: number[] = [];
  readonly pastLengths: number[] = [];
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | undefined;
  private readonly hooks = new Map<number, () => void>();

  constructor(private readonly inner: OnnxDecoderModel) {
    this.vocabSize = inner.vocabSize;
    this.eosTokenIds = inner.eosTokenIds;
    this.padTokenId = inner.padTokenId;
  }

  at(forward: number, hook: () => void): void {
    this.hooks.set(forward, hook);
  }

  forward(batch: DecoderBatch, cache: OnnxCache | undefined) {
    this.hooks.get(this.batchSizes.length)?.();
    this.batchSizes.push(batch.batchSize);
    this.pastLengths.push(batch.pastLength);
    return this.inner.forward(batch, cache);
  }

  releaseCache(cache: OnnxCache): void {
    this.inner.releaseCache(cache);
  }

  selectRows(cache: OnnxCache, rows: readonly number[]): OnnxCache {
    return this.inner.selectRows(cache, rows);
  }

  joinRows(first: OnnxCache, second: OnnxCache): OnnxCache {
    return this.inner.joinRows(first, second);
  }

  dropPastPositions(cache: OnnxCache, count: number, rows: readonly number[]): OnnxCache {
    return this.inner.dropPastPositions(cache, count, rows);
  }
}

let model: OnnxDecoderModel;

beforeAll(async () => {
  model = await OnnxDecoderModel.load((await makeNanoBrick('solver', 7, 0.2)).brickDirectory);
});

afterAll(async () => model?.close());

const shared = { doSample: false, eosTokenIds: [] as number[], maxNewTokens: 64 };
const alone = async (prompt: readonly number[], maxNewTokens: number) =>
  (await generate(model, [prompt], { ...shared, maxNewTokens }))[0]!;

describe('a generation that rows join while it runs', () => {
  it('rows that join mid-generation get the tokens they get alone, and decode in the same forwards', async () => {
    const stepped = new SteppedDecoder(model);
    const generation = new JoinableGeneration(stepped, { generation: shared, maxRows: 8 });
    let joined: Promise<JoinedResult>[] = [];
    // Before forward 4 (three decode steps after the prefill), two rows with other prompts join.
    stepped.at(4, () => {
      joined = generation.join([
        { prompt: nanoPrompts[1]!, maxNewTokens: 9 },
        { prompt: nanoPrompts[3]!, maxNewTokens: 5 },
      ]);
    });
    const [first] = generation.join([{ prompt: nanoPrompts[0]!, maxNewTokens: 12 }]);
    const results = [await first!, ...(await Promise.all(joined))];
    expect(joined).toHaveLength(2);
    expect(results[0]!.tokens).toEqual((await alone(nanoPrompts[0]!, 12)).tokens);
    expect(results[1]!.tokens).toEqual((await alone(nanoPrompts[1]!, 9)).tokens);
    expect(results[2]!.tokens).toEqual((await alone(nanoPrompts[3]!, 5)).tokens);
    expect(results.map((result) => result.finishReason)).toEqual(['length', 'length', 'length']);
    expect(generation.merges).toBe(1);
    // The prefill and 4 steps for 1 row (they join during the fourth); their prefill (2 rows); then 3 rows together.
    expect(stepped.batchSizes.slice(0, 7)).toEqual([1, 1, 1, 1, 1, 2, 3]);
    expect(generation.ended).toBe(true);
    expect(generation.accepts(1)).toBe(false);
  });

  it('a row that joins with a longer past than the running ones pads the running rows instead', async () => {
    const short = [nanoPrompts[0]![0]!, nanoPrompts[0]![1]!];
    const long = [...nanoPrompts[2]!, ...nanoPrompts[1]!, ...nanoPrompts[3]!];
    const stepped = new SteppedDecoder(model);
    const generation = new JoinableGeneration(stepped, { generation: shared, maxRows: 4 });
    let late: Promise<JoinedResult> | undefined;
    stepped.at(2, () => {
      [late] = generation.join([{ prompt: long, maxNewTokens: 6 }]);
    });
    const [early] = generation.join([{ prompt: short, maxNewTokens: 10 }]);
    expect((await early!).tokens).toEqual((await alone(short, 10)).tokens);
    expect((await late!).tokens).toEqual((await alone(long, 6)).tokens);
    // While the long row ran, the short one was padded to its past; once it left, that padding was
    // cut: the last step (the 10th token) attends over the short row's own 2 + 8 positions only.
    expect(Math.max(...stepped.pastLengths)).toBeGreaterThan(long.length);
    expect(stepped.pastLengths.at(-1)).toBe(short.length + 8);
  });

  it('a row is delivered when IT finishes, while the others go on decoding', async () => {
    const stepped = new SteppedDecoder(model);
    const generation = new JoinableGeneration(stepped, { generation: shared, maxRows: 8 });
    const [quick, slow] = generation.join([
      { prompt: nanoPrompts[0]!, maxNewTokens: 2 },
      { prompt: nanoPrompts[1]!, maxNewTokens: 20 },
    ]);
    let slowDone = false;
    void slow!.then(() => (slowDone = true));
    const quickResult = await quick!;
    expect(quickResult.generatedTokenCount).toBe(2);
    expect(slowDone).toBe(false);
    expect((await slow!).generatedTokenCount).toBe(20);
    // Once the quick row left, the steps ran one row.
    expect(stepped.batchSizes.at(-1)).toBe(1);
  });

  it('a joined row that is cancelled leaves at the next step and frees its slot; the others go on', async () => {
    const stepped = new SteppedDecoder(model);
    const generation = new JoinableGeneration(stepped, { generation: shared, maxRows: 2 });
    const controller = new AbortController();
    let joined: Promise<JoinedResult> | undefined;
    stepped.at(2, () => {
      [joined] = generation.join([{ prompt: nanoPrompts[2]!, maxNewTokens: 30, signal: controller.signal }]);
      expect(generation.accepts(1)).toBe(false); // the cap: 2 rows
    });
    stepped.at(6, () => controller.abort());
    let slotFreed = false;
    stepped.at(8, () => (slotFreed = generation.accepts(1)));
    const [first] = generation.join([{ prompt: nanoPrompts[0]!, maxNewTokens: 16 }]);
    const firstResult = await first!;
    const cancelled = await joined!;
    expect(cancelled.finishReason).toBe('length');
    // Prefilled at forward 3 (its first token), tokens 2-3 at forwards 4-5, aborted before forward 6:
    // that step is its last (the fourth token), then it leaves.
    expect(cancelled.generatedTokenCount).toBe(4);
    expect(slotFreed).toBe(true);
    expect(firstResult.tokens).toEqual((await alone(nanoPrompts[0]!, 16)).tokens);
  });

  it('rows that join after a cached prefix prefill only what follows it, with the same tokens', async () => {
    const prefixTokens = nanoPrompts[0]!.slice(0, 3);
    const prefixes = new PrefixCache(model, { minTokens: 1 });
    const prefix = await prefixes.prefix(prefixTokens);
    expect(prefix).toBeDefined();
    const prompts = [
      [...prefixTokens, ...nanoPrompts[1]!],
      [...prefixTokens, ...nanoPrompts[2]!],
    ];
    const stepped = new SteppedDecoder(model);
    const generation = new JoinableGeneration(stepped, { generation: shared, maxRows: 4 });
    let joined: Promise<JoinedResult> | undefined;
    stepped.at(3, () => {
      [joined] = generation.join([{ prompt: prompts[1]!, maxNewTokens: 7 }], prefix);
    });
    const [first] = generation.join([{ prompt: prompts[0]!, maxNewTokens: 9 }], prefix);
    expect((await first!).tokens).toEqual((await alone(prompts[0]!, 9)).tokens);
    expect((await joined!).tokens).toEqual((await alone(prompts[1]!, 7)).tokens);
    await prefixes.clear();
  });

  it('rows past maxRows wait inside and join as rows leave, with the tokens they get alone', async () => {
    const stepped = new SteppedDecoder(model);
    const generation = new JoinableGeneration(stepped, { generation: shared, maxRows: 2, maxWaiting: 2 });
    const budgets = [3, 12, 5, 4];
    const joined = generation.join(
      nanoPrompts.slice(0, 4).map((prompt, index) => ({ prompt, maxNewTokens: budgets[index]! })),
    );
    expect(generation.accepts(1)).toBe(false); // 2 decoding, 2 waiting
    const results = await Promise.all(joined);
    for (const [index, result] of results.entries())
      expect(result.tokens).toEqual((await alone(nanoPrompts[index]!, budgets[index]!)).tokens);
    expect(Math.max(...stepped.batchSizes)).toBe(2);
    // The waiting rows were merged into the running batch once rows left, never above 2 rows.
    expect(generation.merges).toBeGreaterThanOrEqual(1);
  });

  it('a model failure rejects every row, running or waiting', async () => {
    const stepped = new SteppedDecoder(model);
    const failing: DecoderModel<OnnxCache> = {
      vocabSize: stepped.vocabSize,
      eosTokenIds: stepped.eosTokenIds,
      selectRows: (cache, rows) => stepped.selectRows(cache, rows),
      joinRows: (first, second) => stepped.joinRows(first, second),
      forward: async (batch, cache) => {
        if (batch.length === 1 && (cache?.length ?? 0) > 8) throw new Error('session failed');
        return stepped.forward(batch, cache);
      },
    };
    const generation = new JoinableGeneration(failing, { generation: shared, maxRows: 4 });
    const rows = generation.join([
      { prompt: nanoPrompts[0]!, maxNewTokens: 20 },
      { prompt: nanoPrompts[1]!, maxNewTokens: 20 },
    ]);
    for (const row of rows) await expect(row).rejects.toThrow('session failed');
    expect(generation.ended).toBe(true);
  });
});
