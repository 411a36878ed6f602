/**
 * The trainer's training documents as question and answer pairs, for the decoding recipes' fit
 * step (src/decoding/registry.ts): each document's prompt (tokens outside the loss mask) and answer
 * (inside it), decoded once.
 */
import type { TrainingPair } from '../decoding/recipe.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Document } from './packing.js';

export function trainingPairs(documents: readonly Document[], tokenizer: Tokenizer): TrainingPair[] {
  const part = (document: Document, mask: number) =>
    tokenizer.decode(
      document.inputIds.filter((_, index) => document.lossMask[index] === mask),
      { skipSpecialTokens: true },
    );
  return documents.map((document) => ({ question: part(document, 0), answer: part(document, 1) }));
}
