import { describe, expect, it } from 'vitest';
import { TokenBiasProcessor } from '../../src/decoding/token-bias-processor.js';
import { PromptWordBiasProcessor } from '../../src/decoding/copy-names/prompt-word-bias.js';

const vocabulary = [
  'Which',
  ' has',
  ' a',
  ' smaller',
  ' population',
  '?',
  ' is',
  ' larger',
  ' Kaisea',
  'smaller',
];
const id = (text: string) => vocabulary.indexOf(text);

describe('prompt-word bias', () => {
  it('raises the tokens that start a lower-case word of the prompt, and only those', () => {
    const prompt = ['Which', ' has', ' a', ' smaller', ' population', ' Kaisea', '?'].map(id);
    const generated = ['Which', ' is'].map(id);
    const logits = new Float32Array(vocabulary.length);
    new PromptWordBiasProcessor(vocabulary, 2).process(logits, {
      tokens: [...prompt, ...generated],
      generatedCount: generated.length,
    });
    const raised = vocabulary.filter((_, token) => logits[token] === 2);
    expect(raised).toEqual([' has', ' a', ' smaller', ' population']);
    expect(logits[id(' larger')]).toBe(0);
    expect(logits[id(' Kaisea')]).toBe(0); // names are the copy constraint's business
    expect(logits[id('smaller')]).toBe(0); // not a word start
  });

  it('rejects a negative bias and leaves the scores alone at 0', () => {
    expect(() => new PromptWordBiasProcessor(vocabulary, -1)).toThrow(/≥ 0/);
    const logits = new Float32Array(vocabulary.length);
    new PromptWordBiasProcessor(vocabulary, 0).process(logits, {
      tokens: [id(' smaller')],
      generatedCount: 0,
    });
    expect([...logits].every((score) => score === 0)).toBe(true);
  });
});

describe('token bias', () => {
  it('adds its bias to the listed tokens and keeps masked ones masked', () => {
    const logits = Float32Array.from([1, 1, -Infinity, 1]);
    new TokenBiasProcessor(new Set([1, 2, 7]), 4).process(logits);
    expect([...logits]).toEqual([1, 5, -Infinity, 1]);
  });
});
