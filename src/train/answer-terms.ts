/**
 * The terms a student writes on its own: capitalized words found in many of its training
 * answers ("Which", "What", "CEO" in a decomposer's). The copy constraint lets a brick write
 * these and asks every other multi-token name (and every multi-token number) to come from the
 * prompt. Numbers are never taken as known: a decomposition's numbers come from its question.
 */
import { capitalizedWords } from '../runtime/generation/copy-constraint.js';
import { wordAssociations } from '../runtime/generation/word-associations.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Document } from './packing.js';

/** Share of the answers a term must appear in (in a set under 100 answers, one answer is enough). */
const minimumShare = 0.01;

/** The answer text of each document: its loss-masked tokens, decoded. */
function answerTexts(documents: readonly Document[], tokenizer: Tokenizer): string[] {
  return documents.map((document) => {
    const answer = document.inputIds.filter((_, index) => document.lossMask[index] === 1);
    return tokenizer.decode(answer, { skipSpecialTokens: true });
  });
}

/** The capitalized words found in at least 1% of the documents' answers, sorted. */
export function frequentAnswerTerms(documents: readonly Document[], tokenizer: Tokenizer): string[] {
  const answers = answerTexts(documents, tokenizer);
  const counts = new Map<string, number>();
  for (const answer of answers)
    for (const term of new Set(capitalizedWords(answer))) counts.set(term, (counts.get(term) ?? 0) + 1);
  const minimum = Math.max(1, Math.ceil(answers.length * minimumShare));
  return [...counts]
    .filter(([, count]) => count >= minimum)
    .map(([term]) => term)
    .sort();
}

/** Question key → answer words it all but decides, over the documents (see word-associations.ts). */
export function answerAssociations(
  documents: readonly Document[],
  tokenizer: Tokenizer,
): Record<string, string[]> {
  const answers = answerTexts(documents, tokenizer);
  const pairs = documents.map((document, index) => ({
    question: tokenizer.decode(
      document.inputIds.filter((_, position) => document.lossMask[position] === 0),
      { skipSpecialTokens: true },
    ),
    answer: answers[index]!,
  }));
  return wordAssociations(pairs);
}
