/**
 * Logits processors: small, swappable steps that rewrite one row's next-token scores in
 * place before sampling (the transformers.js / Hugging Face split). Each sees the row's
 * tokens so far (prompt and generated) so that history-dependent rules fit the same shape.
 * These are the generic ones; the contract is src/decoding/logits-processor.ts.
 */

import type { LogitsProcessor, ProcessorContext } from '../../decoding/logits-processor.js';

// The contract lives below the runtime, beside the recipes that implement it (docs/layers.md).
export type { LogitsProcessor, ProcessorContext } from '../../decoding/logits-processor.js';

/** Divides every score by the temperature: below 1 sharpens, above 1 flattens. */
export class TemperatureProcessor implements LogitsProcessor {
  readonly name = 'temperature';
  constructor(private readonly temperature: number) {
    if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature}`);
  }
  process(logits: Float32Array): void {
    if (this.temperature === 1) return;
    for (let index = 0; index < logits.length; index += 1) logits[index] /= this.temperature;
  }
}

/** Keeps the k highest scores (ties at the k-th score are kept) and masks the rest. */
export class TopKProcessor implements LogitsProcessor {
  readonly name = 'top-k';
  constructor(private readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`top-k must be a positive integer, got ${k}`);
  }
  process(logits: Float32Array): void {
    if (this.k >= logits.length) return;
    const threshold = Float32Array.from(logits).sort().reverse()[this.k - 1];
    for (let index = 0; index < logits.length; index += 1)
      if (logits[index] < threshold) logits[index] = -Infinity;
  }
}

/**
 * Nucleus sampling: keeps the smallest set of most likely tokens whose probability mass
 * reaches p (always at least the top token) and masks the rest.
 */
export class TopPProcessor implements LogitsProcessor {
  readonly name = 'top-p';
  constructor(private readonly p: number) {
    if (!(p > 0 && p <= 1)) throw new Error(`top-p must be in (0, 1], got ${p}`);
  }
  process(logits: Float32Array): void {
    if (this.p >= 1) return;
    const probabilities = softmax(logits);
    const order = Array.from(probabilities.keys()).sort((a, b) => probabilities[b] - probabilities[a]);
    let mass = 0;
    let kept = 0;
    while (kept < order.length && (kept === 0 || mass < this.p)) {
      mass += probabilities[order[kept]];
      kept += 1;
    }
    for (let rank = kept; rank < order.length; rank += 1) logits[order[rank]] = -Infinity;
  }
}

/**
 * CTRL-style repetition penalty: a token already in the row loses score (positive scores
 * are divided by the penalty, negative ones multiplied).
 */
export class RepetitionPenaltyProcessor implements LogitsProcessor {
  readonly name = 'repetition-penalty';
  constructor(private readonly penalty: number) {
    if (!(penalty > 0)) throw new Error(`repetition penalty must be > 0, got ${penalty}`);
  }
  process(logits: Float32Array, context: ProcessorContext): void {
    if (this.penalty === 1) return;
    for (const token of new Set(context.tokens)) {
      if (token < 0 || token >= logits.length) continue;
      const score = logits[token];
      logits[token] = score > 0 ? score / this.penalty : score * this.penalty;
    }
  }
}

/** Never lets the listed tokens be chosen (special tokens a completion must not contain). */
export class SuppressTokensProcessor implements LogitsProcessor {
  readonly name = 'suppress-tokens';
  constructor(private readonly tokenIds: readonly number[]) {}
  process(logits: Float32Array): void {
    for (const token of this.tokenIds) if (token >= 0 && token < logits.length) logits[token] = -Infinity;
  }
}

/** Masks the end-of-sequence tokens until the row has generated `minNewTokens`. */
export class MinNewTokensProcessor implements LogitsProcessor {
  readonly name = 'min-new-tokens';
  constructor(
    private readonly minNewTokens: number,
    private readonly eosTokenIds: readonly number[],
  ) {}
  process(logits: Float32Array, context: ProcessorContext): void {
    if (context.generatedCount >= this.minNewTokens) return;
    for (const token of this.eosTokenIds) if (token >= 0 && token < logits.length) logits[token] = -Infinity;
  }
}

/** Numerically stable softmax of a row (masked −∞ scores get probability 0). */
export function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const score of logits) if (score > max) max = score;
  const probabilities = new Float64Array(logits.length);
  if (max === -Infinity) throw new Error('every token is masked: no token can be chosen');
  let sum = 0;
  for (let index = 0; index < logits.length; index += 1) {
    const weight = Math.exp(logits[index] - max);
    probabilities[index] = weight;
    sum += weight;
  }
  for (let index = 0; index < logits.length; index += 1) probabilities[index] /= sum;
  return probabilities;
}
