/**
 * The terms a student writes on its own: capitalized words found in many of its training
 * answers but not in their questions ("Which", "What", "In" in a decomposer's). The copy
 * constraint lets a brick write these and asks every other multi-token name (and every
 * multi-token number) to come from the prompt. Numbers are never taken as known: a
 * decomposition's numbers come from its question.
 */
import { capitalizedWords } from './copy-constraint.js';
import type { TrainingPair } from '../recipe.js';

/** Share of the answers a term must appear in (in a set under 100 answers, one answer is enough). */
const minimumShare = 0.01;

/**
 * The capitalized words that at least 1% of the answers write although their question lacks them,
 * sorted. Words an answer copies from its question do not count: "Textiles" of "Dromtaes Textiles"
 * is in many answers but always comes from the question, and were it known the student could
 * start a name with it anywhere ("Where was Textiles born?").
 */
export function frequentAnswerTerms(pairs: readonly TrainingPair[]): string[] {
  const counts = new Map<string, number>();
  for (const { question, answer } of pairs) {
    const asked = new Set(capitalizedWords(question));
    for (const term of new Set(capitalizedWords(answer)))
      if (!asked.has(term)) counts.set(term, (counts.get(term) ?? 0) + 1);
  }
  const minimum = Math.max(1, Math.ceil(pairs.length * minimumShare));
  return [...counts]
    .filter(([, count]) => count >= minimum)
    .map(([term]) => term)
    .sort();
}
