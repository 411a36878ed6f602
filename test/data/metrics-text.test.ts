import { describe, expect, it } from 'vitest';
import {
  dropMetrics,
  dropScore,
  exactMatch,
  extractFinalAnswer,
  normalizeAnswer,
  parseYesNo,
  tokenF1,
} from '../../src/data/metrics/index.js';

describe('SQuAD normalization, exact match and F1', () => {
  it('lowercases, drops punctuation and articles, squeezes spaces', () => {
    expect(normalizeAnswer('  The  Eiffel-Tower!  ')).toBe('eiffeltower');
    expect(normalizeAnswer('An apple, a pear')).toBe('apple pear');
    expect(normalizeAnswer('“Quoted” — text')).toBe('quoted text');
  });

  it('counts exact match after normalization only', () => {
    expect(exactMatch('the Beatles.', 'Beatles')).toBe(true);
    expect(exactMatch('Beatles band', 'Beatles')).toBe(false);
  });

  it('computes token F1 over multisets', () => {
    expect(tokenF1('Barack Obama', 'Obama')).toBeCloseTo(2 / 3);
    expect(tokenF1('New York City', 'New York')).toBeCloseTo(0.8);
    expect(tokenF1('york york', 'york')).toBeCloseTo(2 / 3);
    expect(tokenF1('Paris', 'London')).toBe(0);
    expect(tokenF1('the', 'a')).toBe(1);
    expect(tokenF1('', 'Paris')).toBe(0);
  });
});

describe('DROP F1 (official drop_eval semantics)', () => {
  it('treats numbers as numbers: 5 matches 5.0 and "five yards" tokens do not match 6', () => {
    expect(dropMetrics(['5.0'], ['5'])).toEqual({ exactMatch: 1, f1: 1 });
    expect(dropMetrics(['6 yards'], ['5 yards'])).toEqual({ exactMatch: 0, f1: 0 });
  });

  it('removes punctuation inside non-numbers, so 1,000 equals 1000', () => {
    expect(dropMetrics(['1,000'], ['1000'])).toEqual({ exactMatch: 1, f1: 1 });
  });

  it('gives partial F1 for extra tokens next to the right number', () => {
    expect(dropMetrics(['12 yards'], ['12']).f1).toBeCloseTo(0.67);
  });

  it('aligns multi-span bags optimally regardless of order', () => {
    expect(dropMetrics(['Jones', 'Smith'], ['Smith', 'Jones'])).toEqual({ exactMatch: 1, f1: 1 });
    const partial = dropMetrics(['Smith'], ['Smith', 'Jones']);
    expect(partial.exactMatch).toBe(0);
    expect(partial.f1).toBe(0.5);
  });

  it('prefers the assignment with the largest total, not a greedy one', () => {
    // Greedy would pair "a b" with "a b c" first (0.8) and leave "a b c" with "a" (0.5): 0.65.
    // Optimal: "a b c"↔"a b c" (1.0) and "a b"↔"a" (0.67): 0.83.
    const score = dropMetrics(['alpha beta', 'alpha beta gamma'], ['alpha beta gamma', 'alpha']);
    expect(score.f1).toBe(0.83);
  });

  it('takes the best over validated alternatives', () => {
    expect(dropScore(['Tom'], [['Tom Brady'], ['Tom']]).exactMatch).toBe(1);
  });

  it('normalizes dates written with empty parts', () => {
    expect(dropMetrics(['1996'], ['  1996']).exactMatch).toBe(1);
  });
});

describe('yes/no answers', () => {
  it.each([
    ['yes', true],
    ['Yes.', true],
    ['TRUE', true],
    ['**Yes**, because bats are mammals', true],
    ['no', false],
    ['No, it is not.', false],
    ['false', false],
    ['It is true that they met.', true],
    ['Not really', false],
  ])('%s → %s', (text, expected) => {
    expect(parseYesNo(text)).toBe(expected);
  });

  it.each(['maybe', '', 'It is not true', 'yes and no'])('%j is not an answer', (text) => {
    expect(parseYesNo(text)).toBeNull();
  });
});

describe('extractFinalAnswer', () => {
  it('takes the text after the last "The answer is:"', () => {
    expect(extractFinalAnswer('The answer is: 3\nWait.\nThe answer is: 18.')).toBe('18');
  });

  it('is tolerant of case, markdown bold and a missing colon', () => {
    expect(extractFinalAnswer('so **The answer is:** **$18**.')).toBe('$18');
    expect(extractFinalAnswer('THE ANSWER IS 42')).toBe('42');
    expect(extractFinalAnswer('The final answer is: Paris')).toBe('Paris');
  });

  it('keeps a decimal point and only removes one trailing period', () => {
    expect(extractFinalAnswer('The answer is: 3.5.')).toBe('3.5');
    expect(extractFinalAnswer('The answer is: Washington, D.C.')).toBe('Washington, D.C');
  });

  it('looks at the next line when the phrase ends its line', () => {
    expect(extractFinalAnswer('The answer is:\n\n  7 apples\nthanks')).toBe('7 apples');
  });

  it('falls back to the last non-empty line', () => {
    expect(extractFinalAnswer('step one\nstep two\n  42  \n\n')).toBe('42');
    expect(extractFinalAnswer('')).toBe('');
  });

  it('unwraps \\boxed{}', () => {
    expect(extractFinalAnswer('The answer is: $\\boxed{12}$')).toBe('12');
  });
});
