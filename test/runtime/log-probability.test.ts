import { describe, expect, it } from 'vitest';
import { logProbabilityOf } from '../../src/runtime/generation/generate.js';

/** The textbook log-softmax in float64, every entry summed. */
function reference(logits: Float32Array, token: number): number {
  const max = Math.max(...logits);
  const sum = logits.reduce((total, value) => total + Math.exp(value - max), 0);
  return logits[token] - max - Math.log(sum);
}

describe('logProbabilityOf', () => {
  it('equals the full log-softmax when most scores lie far below the best (their exp is skipped)', () => {
    // A trained model's shape: a few close candidates, a long tail 70–120 below the best.
    const logits = new Float32Array(5000).map((_, index) => -70 - (index % 50));
    logits[7] = 12;
    logits[8] = 11.5;
    logits[9] = -50; // within the gap: still counted
    for (const token of [7, 8, 9, 100])
      expect(logProbabilityOf(logits, token)).toBeCloseTo(reference(logits, token), 12);
  });

  it('equals the full log-softmax on close scores, and gives −Infinity to a masked token', () => {
    const logits = new Float32Array(2048).map((_, index) => Math.sin(index) * 3);
    logits[3] = -Infinity;
    expect(logProbabilityOf(logits, 10)).toBeCloseTo(reference(logits, 10), 10);
    expect(logProbabilityOf(logits, 3)).toBe(-Infinity);
    const probabilities = Array.from(logits, (_, token) => Math.exp(logProbabilityOf(logits, token)));
    expect(probabilities.reduce((total, value) => total + value, 0)).toBeCloseTo(1, 10);
  });
});
