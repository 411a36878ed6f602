import { describe, expect, it } from 'vitest';
import { PromptWordBiasProcessor } from '../../src/decoding/copy-names/prompt-word-bias.js';
import { questionKeys, wordAssociations } from '../../src/decoding/copy-names/word-associations.js';

const pairs = [
  ...Array.from({ length: 30 }, (_, index) => ({
    question: `Which has fewer inhabitants, Kaisea${index} or Nailmi?`,
    answer: '1. What is the population of Kaisea?\n2. Which is smaller, #1 or #2?',
  })),
  ...Array.from({ length: 30 }, () => ({
    question: 'Which has more inhabitants, Kaisea or Nailmi?',
    answer: '1. What is the population of Kaisea?\n2. Which is larger, #1 or #2?',
  })),
  ...Array.from({ length: 40 }, () => ({
    question: 'How many employees does Pluger have?',
    answer: 'No decomposition.',
  })),
];

describe('word associations', () => {
  it('reads lower-case words and pairs of them (names and punctuation skipped) as question keys', () => {
    expect([...questionKeys('Which has fewer inhabitants, Kaisea or Nailmi?')].sort()).toEqual([
      'fewer',
      'fewer inhabitants',
      'has',
      'has fewer',
      'inhabitants',
      'inhabitants or',
      'or',
    ]);
  });

  it('links a key to the answer words it all but decides, and only those', () => {
    const associations = wordAssociations(pairs);
    expect(associations['fewer inhabitants']).toContain('smaller');
    expect(associations['more inhabitants']).toContain('larger');
    expect(associations['fewer inhabitants']).not.toContain('larger');
    // "inhabitants" alone predicts neither direction, and no key predicts its own words.
    expect(associations.inhabitants ?? []).not.toContain('smaller');
    expect(associations.inhabitants ?? []).not.toContain('inhabitants');
  });

  it('needs a key in enough questions', () => {
    const few = [...pairs.slice(0, 10), ...pairs.slice(60)]; // 10 "fewer" questions of 50
    expect(wordAssociations(few)).toEqual({});
    expect(wordAssociations(few, { minimumKeyCount: 5 }).fewer).toContain('smaller');
  });

  it('raises the associated words through the prompt-word bias when the prompt has the key', () => {
    const vocabulary = [' fewer', ' inhabitants', ' smaller', ' larger', 'Which', ' is'];
    const prompt = [' fewer', ' inhabitants'].map((text) => vocabulary.indexOf(text));
    const logits = new Float32Array(vocabulary.length);
    const associated = new Map([['fewer inhabitants', [vocabulary.indexOf(' smaller')]]]);
    new PromptWordBiasProcessor(vocabulary, 2, associated).process(logits, {
      tokens: [...prompt, vocabulary.indexOf('Which'), vocabulary.indexOf(' is')],
      generatedCount: 2,
    });
    expect(logits[vocabulary.indexOf(' smaller')]).toBe(2);
    expect(logits[vocabulary.indexOf(' larger')]).toBe(0);
  });
});
