import { describe, expect, it } from 'vitest';
import { parseSubquestions } from '../../src/prompts/index.js';
import { coversNames, questionNames } from '../../src/runtime/bricks/decomposition-coverage.js';

// A stand-in tokenizer: words it knows are one token, anything else one token per 3 characters.
const known = new Set(['Which', ' Which', 'which', ' which', 'Were', ' were', ' Are', ' the']);
const tokenCount = (text: string) => (known.has(text) ? 1 : Math.ceil(text.length / 3));

describe('decomposition coverage', () => {
  it('takes capitalized words spelled with several tokens inside a sentence for names', () => {
    expect(questionNames('Which is older, Kraihund Velmor or Pladro Group?', tokenCount)).toEqual([
      'Kraihund',
      'Velmor',
      'Pladro',
      'Group',
    ]);
  });

  it('skips words that only start sentences, and words the tokenizer knows as one token', () => {
    expect(questionNames('Were Zaeplind and Ploukol born in the same city?', tokenCount)).toEqual([
      'Zaeplind',
      'Ploukol',
    ]);
    expect(
      questionNames('Sionas buys 5 muffins. Sionas pays. How much does Sionas get?', tokenCount),
    ).toEqual(['Sionas']);
  });

  it('passes a decomposition that mentions every name and fails one that repeats a name instead', () => {
    const names = ['Kreniport', 'Karzom'];
    const good = parseSubquestions(
      '1. In which country is Kreniport located?\n2. In which country is Karzom located?\n3. Are #1 and #2 the same?',
      6,
    );
    const repeated = parseSubquestions(
      '1. In which country is Kreniport located?\n2. In which country is Kreniport located?\n3. Are #1 and #2 the same?',
      6,
    );
    expect(coversNames(good, names)).toBe(true);
    expect(coversNames(repeated, names)).toBe(false);
  });

  it('lets "No decomposition." pass and fails an unparseable answer', () => {
    expect(coversNames(parseSubquestions('No decomposition.', 6), ['Kreniport'])).toBe(true);
    expect(coversNames(parseSubquestions('', 6), ['Kreniport'])).toBe(false);
  });

  it('matches whole words only', () => {
    const parsed = parseSubquestions('1. Where was Kreniportia founded?', 6);
    expect(coversNames(parsed, ['Kreniport'])).toBe(false);
  });
});
