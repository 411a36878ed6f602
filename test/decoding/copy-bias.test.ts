import { describe, expect, it } from 'vitest';
import { copyCandidates, CopyBiasProcessor } from '../../src/decoding/copy-names/copy-bias.js';
import { GreedySampler } from '../../src/runtime/generation/samplers.js';

/** A row whose prompt is `prompt` and whose output so far is `generated`. */
const row = (prompt: number[], generated: number[]) => ({
  tokens: [...prompt, ...generated],
  generatedCount: generated.length,
});

describe('copy bias', () => {
  it('finds the prompt continuations of the longest generated suffix the prompt contains', () => {
    // prompt: 5 6 7 | 9 6 8 ; output ends with "5 6": only "5 6 → 7" matches at length 2.
    expect(copyCandidates(row([5, 6, 7, 9, 6, 8], [1, 5, 6]), 1, 8)).toEqual({
      tokens: new Set([7]),
      length: 2,
    });
    // Output ends with "6" alone: both continuations of 6 count.
    expect([...copyCandidates(row([5, 6, 7, 9, 6, 8], [1, 6]), 1, 8).tokens].sort()).toEqual([7, 8]);
  });

  it('finds nothing before the output shares enough tokens with the prompt', () => {
    expect(copyCandidates(row([5, 6, 7], []), 1, 8).tokens.size).toBe(0);
    expect(copyCandidates(row([5, 6, 7], [4]), 1, 8).tokens.size).toBe(0);
    expect(copyCandidates(row([5, 6, 7], [6]), 2, 8).tokens.size).toBe(0);
    expect([...copyCandidates(row([5, 6, 7], [5, 6]), 2, 8).tokens]).toEqual([7]);
  });

  it('never proposes a token the prompt does not hold after the match', () => {
    // The prompt's last token has no continuation inside the prompt.
    expect(copyCandidates(row([5, 6, 7], [7]), 1, 8).tokens.size).toBe(0);
  });

  it('turns a near tie toward the copy but leaves a confident choice alone', () => {
    const prompt = [1, 2, 3];
    const unsure = Float32Array.from([0, 0, 0, 1, 1.5]); // model prefers 4 over the copy 3 by 0.5
    new CopyBiasProcessor({ bias: 2 }).process(unsure, row(prompt, [2]));
    expect(new GreedySampler().sample(unsure)).toBe(3);
    const sure = Float32Array.from([0, 0, 0, 1, 9]); // model prefers 4 by 8
    new CopyBiasProcessor({ bias: 2 }).process(sure, row(prompt, [2]));
    expect(new GreedySampler().sample(sure)).toBe(4);
  });

  it('biases only eligible tokens when a set is given', () => {
    const logits = new Float32Array(5);
    new CopyBiasProcessor({ bias: 3, eligibleTokens: new Set([4]) }).process(logits, row([2, 3, 2, 4], [2]));
    expect(Array.from(logits)).toEqual([0, 0, 0, 0, 3]);
  });

  it('biases long-match tokens only after a match of at least longMatch tokens', () => {
    const processor = new CopyBiasProcessor({
      bias: 3,
      eligibleTokens: new Set(),
      longMatchTokens: new Set([4]),
      longMatch: 2,
    });
    const short = new Float32Array(5);
    processor.process(short, row([1, 2, 4], [2])); // match "2" (1 token) → 4: too short
    expect(short[4]).toBe(0);
    const long = new Float32Array(5);
    processor.process(long, row([1, 2, 4], [1, 2])); // match "1 2" (2 tokens) → 4
    expect(long[4]).toBe(3);
  });

  it('rejects a negative bias and a bad match range with the value named', () => {
    expect(() => new CopyBiasProcessor({ bias: -1 })).toThrow(/copy bias must be a number ≥ 0, got -1/);
    expect(() => new CopyBiasProcessor({ bias: 1, minMatch: 0 })).toThrow(
      /minMatch must be a positive integer/,
    );
    expect(() => new CopyBiasProcessor({ bias: 1, minMatch: 3, maxMatch: 2 })).toThrow(/maxMatch must be/);
  });
});
