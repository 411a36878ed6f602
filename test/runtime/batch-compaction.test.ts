import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecoderBatch, DecoderModel } from '../../src/runtime/generation/decoder-model.js';
import { generate } from '../../src/runtime/generation/generate.js';
import { OnnxDecoderModel, type OnnxCache } from '../../src/runtime/onnx/onnx-decoder.js';
import { makeNanoBrick, nanoPrompts } from '../export/brick-fixture.js';

/** The ONNX decoder, recording the rows of every forward; `selectRows` only when asked for. */
class RecordingDecoder implements DecoderModel<OnnxCache> {
  readonly batchSizes: number[] = [];
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | undefined;
  selectRows?: (cache: OnnxCache, rows: readonly number[]) => OnnxCache;

  constructor(
    private readonly inner: OnnxDecoderModel,
    canSelect: boolean,
  ) {
    this.vocabSize = inner.vocabSize;
    this.eosTokenIds = inner.eosTokenIds;
    this.padTokenId = inner.padTokenId;
    if (canSelect) this.selectRows = (cache, rows) => inner.selectRows(cache, rows);
  }

  forward(batch: DecoderBatch, cache: OnnxCache | undefined) {
    this.batchSizes.push(batch.batchSize);
    return this.inner.forward(batch, cache);
  }
}

let model: OnnxDecoderModel;

beforeAll(async () => {
  model = await OnnxDecoderModel.load((await makeNanoBrick('solver', 7, 0.2)).brickDirectory);
});

afterAll(async () => model?.close());

const prompts = nanoPrompts;

describe('batched generation without wasted rows', () => {
  it('a row that finishes leaves the batch, and every row still gets what it gets alone', async () => {
    const free = await generate(model, prompts, { maxNewTokens: 12, eosTokenIds: [] });
    // End the sequence at a token row 1 produces early and that no other row produces before step 6.
    const eos = free[1]!.tokens.find(
      (token, step) =>
        step >= 1 &&
        step <= 3 &&
        free.every((other, row) => row === 1 || !other.tokens.slice(0, 6).includes(token)),
    );
    expect(eos).toBeDefined();
    const options = { maxNewTokens: 12, eosTokenIds: [eos!] };
    const compacting = new RecordingDecoder(model, true);
    const padded = new RecordingDecoder(model, false);
    const results = await generate(compacting, prompts, options);
    const reference = await generate(padded, prompts, options);
    for (const [row, prompt] of prompts.entries()) {
      const [alone] = await generate(model, [prompt], options);
      expect(results[row]!.tokens).toEqual(alone!.tokens);
      expect(results[row]!.finishReason).toBe(alone!.finishReason);
      expect(reference[row]!.tokens).toEqual(alone!.tokens);
    }
    expect(results[1]!.finishReason).toBe('eos');
    // Without row selection every step runs 4 rows; with it the batch shrinks once row 1 ends.
    expect(new Set(padded.batchSizes)).toEqual(new Set([4]));
    expect(compacting.batchSizes[0]).toBe(4);
    expect(compacting.batchSizes.at(-1)).toBeLessThan(4);
    const rowSteps = (sizes: number[]) => sizes.reduce((sum, size) => sum + size, 0);
    expect(rowSteps(compacting.batchSizes)).toBeLessThan(rowSteps(padded.batchSizes));
  });

  it('identical prompts are prefilled once and continue as separate rows', async () => {
    const repeated = [prompts[0]!, prompts[2]!, prompts[0]!, prompts[0]!];
    const options = { maxNewTokens: 8, eosTokenIds: [] as number[] };
    const sharing = new RecordingDecoder(model, true);
    const results = await generate(sharing, repeated, options);
    expect(sharing.batchSizes[0]).toBe(2); // two distinct prompts prefilled
    expect(sharing.batchSizes.slice(1)).toEqual(Array(7).fill(4));
    const reference = await generate(new RecordingDecoder(model, false), repeated, options);
    expect(results.map((result) => result.tokens)).toEqual(reference.map((result) => result.tokens));
    // Sampled rows from one prefill still differ from each other (each row draws its own tokens).
    const sampled = await generate(sharing, Array(6).fill(prompts[1]!), {
      maxNewTokens: 8,
      eosTokenIds: [],
      doSample: true,
      seed: 11,
    });
    expect(new Set(sampled.map((result) => result.tokens.join(','))).size).toBeGreaterThan(1);
  });
});
