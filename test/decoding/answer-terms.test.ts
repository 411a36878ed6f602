import { describe, expect, it } from 'vitest';
import { frequentAnswerTerms } from '../../src/decoding/copy-names/answer-terms.js';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { trainingPairs } from '../../src/train/training-pairs.js';

// Documents whose token ids are char codes, with a stand-in tokenizer that decodes them back.
const tokenizer = {
  decode: (ids: readonly number[]) => String.fromCharCode(...ids),
} as unknown as Tokenizer;

function document(prompt: string, answer: string) {
  const text = prompt + answer;
  return {
    inputIds: [...text].map((character) => character.charCodeAt(0)),
    lossMask: [...text].map((_, index) => (index >= prompt.length ? 1 : 0)),
  };
}

const pairsOf = (documents: ReturnType<typeof document>[]) => trainingPairs(documents, tokenizer);

describe('training pairs', () => {
  it('splits each document into its prompt and its answer by the loss mask', () => {
    expect(trainingPairs([document('Q: x', 'Where?')], tokenizer)).toEqual([
      { question: 'Q: x', answer: 'Where?' },
    ]);
  });
});

describe('frequent answer terms', () => {
  it('keeps the capitalized words of at least 1% of the answers, never the prompts or numbers', () => {
    const letters = (index: number) => String.fromCharCode(97 + (index % 26), 97 + Math.floor(index / 26));
    const documents = Array.from({ length: 300 }, (_, index) =>
      document(
        `Question: Where is Zed${letters(index)}?`,
        `1. What is the Capital of Na${letters(index % 150)}? 42`,
      ),
    );
    // "What" and "Capital" are in every answer; each "Na…" name in 2 of 300 (< 1%); "Zed…" only in prompts.
    expect(frequentAnswerTerms(pairsOf(documents))).toEqual(['Capital', 'What']);
  });

  it('keeps every capitalized answer word of a set under 100 answers', () => {
    const documents = [document('Q: x', 'Where was Kraihund born?'), document('Q: y', 'No decomposition.')];
    expect(frequentAnswerTerms(pairsOf(documents))).toEqual(['Kraihund', 'No', 'Where']);
  });

  it('leaves out the words an answer copies from its question ("Textiles" of a company name)', () => {
    const documents = Array.from({ length: 200 }, (_, index) =>
      document(`Question: Which city hosts Dro${index} Textiles?`, `1. Where is Dro${index} Textiles based?`),
    );
    expect(frequentAnswerTerms(pairsOf(documents))).toEqual(['Where']);
  });
});
