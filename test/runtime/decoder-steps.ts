/** One-row decoder batches for tests that drive `DecoderModel.forward` step by step. */
import type { DecoderBatch } from '../../src/runtime/generation/decoder-model.js';

export const int64 = (values: number[]): BigInt64Array => BigInt64Array.from(values, BigInt);

/** The first step: the whole prompt, positions 0…. */
export function promptBatch(prompt: readonly number[]): DecoderBatch {
  return {
    inputIds: int64([...prompt]),
    attentionMask: int64(prompt.map(() => 1)),
    positionIds: int64(prompt.map((_, index) => index)),
    batchSize: 1,
    length: prompt.length,
    pastLength: 0,
  };
}

/** A next step feeding `token` after `past` cached positions. */
export function stepBatch(token: number, past: number): DecoderBatch {
  return {
    inputIds: int64([token]),
    attentionMask: int64(Array(past + 1).fill(1)),
    positionIds: int64([past]),
    batchSize: 1,
    length: 1,
    pastLength: past,
  };
}

export const maxDifference = (a: Float32Array, b: Float32Array): number =>
  a.reduce((worst, value, index) => Math.max(worst, Math.abs(value - b[index]!)), 0);
