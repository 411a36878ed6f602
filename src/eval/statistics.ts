/**
 * The statistics of an eval report: means, a seeded bootstrap interval of the mean,
 * percentiles, ROUGE-L, and decomposition metrics against gold sub-questions.
 *
 * Hand-written on purpose: none of the installed packages offers them, each is a few lines,
 * and the report's numbers must be reproducible bit for bit (a fixed resampling order from a
 * seeded pure-rand generator, a fixed percentile definition).
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

function assertNotEmpty(values: readonly number[], what: string): void {
  if (values.length === 0)
    throw new RangeError(`${what} of an empty list is undefined; pass at least one value`);
}

/** The arithmetic mean. Throws a RangeError on an empty list (there is no mean to report). */
export function mean(values: readonly number[]): number {
  assertNotEmpty(values, 'the mean');
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/**
 * The q-th percentile (q in [0, 100]) with linear interpolation between closest ranks
 * (Hyndman & Fan type 7, the default of numpy and R): the value at rank h = (n − 1)·q/100 of
 * the sorted list, interpolated between floor(h) and ceil(h). One value → that value.
 */
export function percentile(values: readonly number[], q: number): number {
  assertNotEmpty(values, 'a percentile');
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile rank must be in [0, 100], got ${q}`);
  return percentileOfSorted(
    [...values].sort((left, right) => left - right),
    q,
  );
}

function percentileOfSorted(sorted: readonly number[], q: number): number {
  const rank = ((sorted.length - 1) * q) / 100;
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const lower = sorted[below] as number;
  const upper = sorted[above] as number;
  return lower + (upper - lower) * (rank - below);
}

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Seed of the xoroshiro128+ generator (default 0): the same seed gives the same interval. */
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  confidence?: number;
}

/**
 * Percentile-bootstrap interval of the mean: draw `resamples` samples of size n with
 * replacement, take each sample's mean, and return the (1−c)/2 and (1+c)/2 percentiles
 * (type 7) of those means. Deterministic for a seed. With one value (or all values equal)
 * the interval is that value on both ends; an empty list throws a RangeError.
 */
export function bootstrapMeanInterval(
  values: readonly number[],
  options: BootstrapOptions = {},
): [number, number] {
  assertNotEmpty(values, 'a bootstrap interval');
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`bootstrap resamples must be a positive integer, got ${resamples}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`bootstrap confidence must be in (0, 1), got ${confidence}`);
  }
  const n = values.length;
  const generator = xoroshiro128plus(options.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let resample = 0; resample < resamples; resample += 1) {
    let sum = 0;
    for (let draw = 0; draw < n; draw += 1) sum += values[uniformInt(generator, 0, n - 1)] as number;
    means[resample] = sum / n;
  }
  const sorted = Array.from(means.sort());
  const tail = ((1 - confidence) / 2) * 100;
  return [percentileOfSorted(sorted, tail), percentileOfSorted(sorted, 100 - tail)];
}

/** Lowercase word tokens: maximal runs of letters and digits (`#2` → `2`, `don't` → `don`, `t`). */
export function wordTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

function longestCommonSubsequence(left: readonly string[], right: readonly string[]): number {
  let previous = new Array<number>(right.length + 1).fill(0);
  for (const leftToken of left) {
    const current = new Array<number>(right.length + 1).fill(0);
    for (let column = 1; column <= right.length; column += 1) {
      current[column] =
        leftToken === right[column - 1]
          ? (previous[column - 1] as number) + 1
          : Math.max(previous[column] as number, current[column - 1] as number);
    }
    previous = current;
  }
  return previous[right.length] as number;
}

/**
 * ROUGE-L F-measure (β = 1) between a candidate and a reference: with L the longest common
 * subsequence of their word tokens, P = L/|candidate|, R = L/|reference|, F = 2PR/(P+R).
 * Two texts with no tokens are identical (1); one empty side gives 0.
 */
export function rougeL(candidate: string, reference: string): number {
  const candidateTokens = wordTokens(candidate);
  const referenceTokens = wordTokens(reference);
  if (candidateTokens.length === 0 && referenceTokens.length === 0) return 1;
  const common = longestCommonSubsequence(candidateTokens, referenceTokens);
  if (common === 0) return 0;
  const precision = common / candidateTokens.length;
  const recall = common / referenceTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * Mean over predicted sub-questions of the best ROUGE-L against any gold sub-question
 * (how much of what the decomposer asked is something the gold decomposition asks).
 * Both empty → 1; exactly one empty → 0.
 */
export function bestMatchRougeL(predicted: readonly string[], gold: readonly string[]): number {
  if (predicted.length === 0 && gold.length === 0) return 1;
  if (predicted.length === 0 || gold.length === 0) return 0;
  return mean(predicted.map((question) => Math.max(...gold.map((reference) => rougeL(question, reference)))));
}

export interface DecompositionMetrics {
  /** Fraction of examples whose predicted sub-question count equals the gold count. */
  stepCountAgreement: number;
  /** Mean absolute difference between predicted and gold sub-question counts. */
  meanStepDifference: number;
  /** Mean over examples of `bestMatchRougeL(predicted, gold)`. */
  rougeL: number;
  /** Number of examples the metrics are computed over. */
  n: number;
}

/** Decomposition metrics over the pairs (predicted, gold); null when there are no pairs. */
export function decompositionMetrics(
  pairs: readonly { predicted: readonly string[]; gold: readonly string[] }[],
): DecompositionMetrics | null {
  if (pairs.length === 0) return null;
  return {
    stepCountAgreement: mean(pairs.map((pair) => (pair.predicted.length === pair.gold.length ? 1 : 0))),
    meanStepDifference: mean(pairs.map((pair) => Math.abs(pair.predicted.length - pair.gold.length))),
    rougeL: mean(pairs.map((pair) => bestMatchRougeL(pair.predicted, pair.gold))),
    n: pairs.length,
  };
}
