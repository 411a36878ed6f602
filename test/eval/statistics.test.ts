import { describe, expect, it } from 'vitest';
import {
  bestMatchRougeL,
  bootstrapMeanInterval,
  decompositionMetrics,
  mean,
  percentile,
  rougeL,
  wordTokens,
} from '../../src/eval/statistics.js';

describe('mean and percentile', () => {
  it('computes the arithmetic mean', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
  });

  it('refuses an empty list with a RangeError', () => {
    expect(() => mean([])).toThrow(RangeError);
    expect(() => percentile([], 50)).toThrow(/empty list/);
    expect(() => bootstrapMeanInterval([])).toThrow(/empty list/);
  });

  it('interpolates linearly between closest ranks (type 7)', () => {
    const values = [10, 40, 20, 30]; // sorted 10 20 30 40
    expect(percentile(values, 0)).toBe(10);
    expect(percentile(values, 100)).toBe(40);
    expect(percentile(values, 50)).toBe(25); // rank 1.5
    expect(percentile(values, 95)).toBeCloseTo(38.5, 10); // rank 2.85 → 30 + 0.85·10
    expect(percentile([7], 95)).toBe(7);
  });

  it('matches numpy for 1..100', () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(values, 50)).toBeCloseTo(50.5, 10);
    expect(percentile(values, 95)).toBeCloseTo(95.05, 10);
  });

  it('rejects a percentile rank outside [0, 100]', () => {
    expect(() => percentile([1, 2], 101)).toThrow(/\[0, 100\]/);
  });
});

describe('bootstrapMeanInterval', () => {
  const half = Array.from({ length: 400 }, (_, index) => (index % 2 === 0 ? 1 : 0));

  it('is deterministic for a seed and changes with the seed', () => {
    expect(bootstrapMeanInterval(half, { seed: 7 })).toEqual(bootstrapMeanInterval(half, { seed: 7 }));
    expect(bootstrapMeanInterval(half, { seed: 7 })).not.toEqual(bootstrapMeanInterval(half, { seed: 8 }));
  });

  it('collapses to the value when every value is the same, or there is one value', () => {
    expect(bootstrapMeanInterval(Array(50).fill(1))).toEqual([1, 1]);
    expect(bootstrapMeanInterval(Array(50).fill(0))).toEqual([0, 0]);
    expect(bootstrapMeanInterval([0.4])).toEqual([0.4, 0.4]);
  });

  it('gives a plausible 95% interval for 50% of 400', () => {
    const [low, high] = bootstrapMeanInterval(half, { seed: 1 });
    // Normal approximation: 0.5 ± 1.96·sqrt(0.25/400) = 0.5 ± 0.049.
    expect(low).toBeLessThan(0.5);
    expect(high).toBeGreaterThan(0.5);
    expect(high - low).toBeGreaterThan(0.08);
    expect(high - low).toBeLessThan(0.12);
    expect(Math.abs((low + high) / 2 - 0.5)).toBeLessThan(0.015);
  });

  it('narrows with a lower confidence and validates its options', () => {
    const wide = bootstrapMeanInterval(half, { seed: 1, confidence: 0.99 });
    const narrow = bootstrapMeanInterval(half, { seed: 1, confidence: 0.5 });
    expect(narrow[1] - narrow[0]).toBeLessThan(wide[1] - wide[0]);
    expect(() => bootstrapMeanInterval(half, { resamples: 0 })).toThrow(/positive integer/);
    expect(() => bootstrapMeanInterval(half, { confidence: 1 })).toThrow(/\(0, 1\)/);
  });
});

describe('rougeL', () => {
  it('tokenizes lowercase runs of letters and digits', () => {
    expect(wordTokens('Where was #1 BORN?')).toEqual(['where', 'was', '1', 'born']);
  });

  it('is 1 for identical texts up to case and punctuation, 0 for disjoint ones', () => {
    expect(rougeL('Who founded Acme?', 'who founded acme')).toBe(1);
    expect(rougeL('Who founded Acme?', 'Paris is large')).toBe(0);
    expect(rougeL('', '')).toBe(1);
    expect(rougeL('', 'something')).toBe(0);
  });

  it('matches hand-computed values', () => {
    // LCS("the cat sat on the mat", "the cat on the mat") = 5: P = 5/6, R = 5/5, F = 10/11.
    expect(rougeL('the cat sat on the mat', 'the cat on the mat')).toBeCloseTo(10 / 11, 12);
    // LCS = "police killed the gunman" (the classic example from Lin 2004): 3 of 4 each way.
    expect(rougeL('the gunman police killed', 'police killed the gunman')).toBeCloseTo(0.5, 12);
    expect(rougeL('police kill the gunman', 'police killed the gunman')).toBeCloseTo(0.75, 12);
  });
});

describe('decomposition metrics', () => {
  it('takes the best gold match for each predicted sub-question', () => {
    expect(bestMatchRougeL(['who founded acme', 'paris'], ['Paris', 'Who founded Acme?'])).toBe(1);
    expect(bestMatchRougeL([], [])).toBe(1);
    expect(bestMatchRougeL(['a'], [])).toBe(0);
  });

  it('counts step agreement and mean absolute step difference', () => {
    const metrics = decompositionMetrics([
      { predicted: ['a b', 'c d'], gold: ['a b', 'c d'] },
      { predicted: ['a b'], gold: ['a b', 'x y', 'z'] },
    ]);
    expect(metrics).toEqual({ stepCountAgreement: 0.5, meanStepDifference: 1, rougeL: 1, n: 2 });
    expect(decompositionMetrics([])).toBeNull();
  });
});
