/**
 * Copy bias: a logits processor that helps a small decoder copy spans of its prompt exactly.
 *
 * A decomposer mostly re-types names and numbers from the question ("Where was Kraihund Vel
 * born?"), and a sub-million-parameter student copies a name's first token well but drifts on
 * the next ones ("Kraikund"). This is the soft form of prompt-lookup decoding and of the copy
 * distribution of pointer-generator networks: when the last n generated tokens also occur in the
 * prompt, each token that followed them there gains `bias` in score, so a copy the model has
 * started is continued unless the model is confident it should not be. Only the longest
 * matching n (up to `maxMatch`) counts, and matches must have at least `minMatch` tokens.
 *
 * Written by hand: no library offers logits processors for our generation loop.
 */
import type { LogitsProcessor, ProcessorContext } from '../logits-processor.js';

export interface CopyBiasOptions {
  /** Score added to each prompt continuation token (in logits, i.e. nats). */
  bias: number;
  /** The fewest generated tokens a prompt match must cover (default 1). */
  minMatch?: number;
  /** The longest match looked for (default 8). */
  maxMatch?: number;
  /**
   * Only these tokens may gain the bias (e.g. the tokens that continue a word, so a copy is
   * finished within the word but the model alone decides where the phrase goes next); all when absent.
   */
  eligibleTokens?: ReadonlySet<number>;
  /**
   * Tokens that gain the bias only after a match of at least `longMatch` tokens (e.g. the next
   * word of a name: " Vel" after "Kraihund" is a copy, " Vel" after " of" is a guess).
   */
  longMatchTokens?: ReadonlySet<number>;
  /** The match length `longMatchTokens` need (default 3). */
  longMatch?: number;
}

export class CopyBiasProcessor implements LogitsProcessor {
  readonly name = 'copy-bias';
  private readonly bias: number;
  private readonly minMatch: number;
  private readonly maxMatch: number;
  private readonly eligibleTokens: ReadonlySet<number> | undefined;
  private readonly longMatchTokens: ReadonlySet<number> | undefined;
  private readonly longMatch: number;

  constructor(options: CopyBiasOptions) {
    const { bias, minMatch = 1, maxMatch = 8, eligibleTokens, longMatchTokens, longMatch = 3 } = options;
    if (!Number.isFinite(bias) || bias < 0) throw new Error(`copy bias must be a number ≥ 0, got ${bias}`);
    if (!Number.isInteger(minMatch) || minMatch < 1)
      throw new Error(`copy bias minMatch must be a positive integer, got ${minMatch}`);
    if (!Number.isInteger(maxMatch) || maxMatch < minMatch)
      throw new Error(`copy bias maxMatch must be an integer ≥ minMatch (${minMatch}), got ${maxMatch}`);
    this.bias = bias;
    this.minMatch = minMatch;
    this.maxMatch = maxMatch;
    this.eligibleTokens = eligibleTokens;
    this.longMatchTokens = longMatchTokens;
    this.longMatch = longMatch;
  }

  process(logits: Float32Array, context: ProcessorContext): void {
    if (this.bias === 0) return;
    const { tokens, length } = copyCandidates(context, this.minMatch, this.maxMatch);
    for (const token of tokens)
      if (token >= 0 && token < logits.length && this.eligible(token, length)) logits[token] += this.bias;
  }

  private eligible(token: number, matchLength: number): boolean {
    if (this.eligibleTokens === undefined || this.eligibleTokens.has(token)) return true;
    return matchLength >= this.longMatch && (this.longMatchTokens?.has(token) ?? false);
  }
}

/**
 * The tokens that follow, in the prompt, the longest suffix of the generated tokens (between
 * minMatch and maxMatch long) that the prompt contains, and that suffix's length; no tokens
 * (length 0) when no such suffix occurs.
 */
export function copyCandidates(
  context: ProcessorContext,
  minMatch: number,
  maxMatch: number,
): { tokens: Set<number>; length: number } {
  const { tokens, generatedCount } = context;
  const promptLength = tokens.length - generatedCount;
  const longest = Math.min(maxMatch, generatedCount, promptLength - 1);
  for (let length = longest; length >= minMatch; length -= 1) {
    const found = new Set<number>();
    // A match ends at prompt position `end` (exclusive) and the candidate is tokens[end].
    for (let end = length; end < promptLength; end += 1)
      if (matchesSuffix(tokens, end, length)) found.add(tokens[end]);
    if (found.size > 0) return { tokens: found, length };
  }
  return { tokens: new Set(), length: 0 };
}

/** Whether tokens[end - length, end) equals the last `length` tokens of the row. */
function matchesSuffix(tokens: readonly number[], end: number, length: number): boolean {
  const offset = tokens.length - length;
  for (let index = 0; index < length; index += 1)
    if (tokens[end - length + index] !== tokens[offset + index]) return false;
  return true;
}
