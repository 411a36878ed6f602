import { describe, expect, it } from 'vitest';
import { parseSubquestions } from '../../src/prompts/index.js';
import {
  decompositionFaults,
  missingNames,
  questionNames,
} from '../../src/decoding/copy-names/decomposition-coverage.js';

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

  it('passes a decomposition that mentions every name and faults one that repeats a name instead', () => {
    const names = ['Kreniport', 'Karzom'];
    const good = parseSubquestions(
      '1. In which country is Kreniport located?\n2. In which country is Karzom located?\n3. Are #1 and #2 the same?',
      6,
    );
    const repeated = parseSubquestions(
      '1. In which country is Kreniport located?\n2. In which country is Kreniport located?\n3. Are #1 and #2 the same?',
      6,
    );
    expect(decompositionFaults(good, names)).toEqual([]);
    expect(decompositionFaults(repeated, names)).toEqual([
      'leaves out Karzom',
      'asks "In which country is Kreniport located?" twice',
    ]);
  });

  it('faults a sub-question asked twice even when every name is mentioned', () => {
    const parsed = parseSubquestions(
      '1. How many employees does Pluger Works have?\n2. How many employees does Pluger Works have?\n3. Which is larger, Pluger Works (#1) or Ploumror Textiles (#2)?',
      6,
    );
    expect(decompositionFaults(parsed, ['Pluger', 'Ploumror'])).toEqual([
      'asks "How many employees does Pluger Works have?" twice',
    ]);
  });

  it('faults a reference to the step itself or a later one, and accepts references back', () => {
    const forward = parseSubquestions(
      '1. In what year was Neanrend born?\n2. In what year was Krouquoul born?\n3. Which is earlier, Neanrend (#1) or #3 (#2)?',
      6,
    );
    expect(decompositionFaults(forward, [])).toEqual(['#3 in sub-question 3 refers to no earlier step']);
    const backward = parseSubquestions('1. Who founded Pladro Group?\n2. Where was #1 born?', 6);
    expect(decompositionFaults(backward, [])).toEqual([]);
  });

  it('lets "No decomposition." pass and faults an unparseable answer', () => {
    expect(decompositionFaults(parseSubquestions('No decomposition.', 6), ['Kreniport'])).toEqual([]);
    expect(decompositionFaults(parseSubquestions('', 6), ['Kreniport'])).toEqual([
      'no numbered sub-questions',
    ]);
  });

  it('matches whole words only', () => {
    const parsed = parseSubquestions('1. Where was Kreniportia founded?', 6);
    expect(decompositionFaults(parsed, ['Kreniport'])).toEqual(['leaves out Kreniport']);
  });

  it('lists the names no sub-question mentions', () => {
    const parsed = parseSubquestions(
      '1. In which country is Kreniport located?\n2. Are #1 and #1 the same?',
      6,
    );
    expect(missingNames(parsed, ['Kreniport', 'Karzom'])).toEqual(['Karzom']);
    expect(missingNames(parseSubquestions('No decomposition.', 6), ['Karzom'])).toEqual([]);
  });
});
