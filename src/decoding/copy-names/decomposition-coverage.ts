/**
 * Checks a decomposition can fail before any solver sees it: coverage (does it mention every name
 * of its question?) and well-formedness (no sub-question asked twice, no `#k` that points at
 * itself or a later step).
 *
 * A sub-question chain that answers a question about two entities has to ask about both, so a
 * decomposition that writes one name twice and leaves the other out ("In which country is
 * Kreniport located? / In which country is Kreniport located?" for "Are Kreniport and Karzom in
 * the same country?") is wrong before any solver sees it. Names are the question's capitalized
 * words that the brick's tokenizer spells with two or more tokens: template words ("Which",
 * "How", "were") are single tokens of a trained vocabulary, rare names are not.
 */
import type { ParsedSubquestions } from '../../prompts/index.js';

/**
 * The question's names: capitalized words that occur at least once inside a sentence (a word
 * that only starts sentences, like "Were ...", may be capitalized for that alone) and that
 * `tokenCount` spells with two or more tokens in every form (after a space or not, capitalized
 * or not).
 */
export function questionNames(question: string, tokenCount: (word: string) => number): string[] {
  const inside = /(?<![.?!]\s*|^\s*)\b\p{Lu}\p{L}*/gu;
  const words = new Set(question.match(inside) ?? []);
  return [...words].filter((word) => {
    const lower = word.toLowerCase();
    return [word, ` ${word}`, lower, ` ${lower}`].every((form) => tokenCount(form) >= 2);
  });
}

/** The names no sub-question mentions as a whole word (none for "No decomposition."). */
export function missingNames(parsed: ParsedSubquestions, names: readonly string[]): string[] {
  if (parsed.kind === 'no-decomposition') return [];
  const mentioned = new Set(parsed.subquestions.join('\n').match(/\p{L}+/gu) ?? []);
  return names.filter((name) => !mentioned.has(name));
}

/** `#k` references in a sub-question. */
function references(subquestion: string): number[] {
  return [...subquestion.matchAll(/#(\d+)/g)].map((match) => Number(match[1]));
}

/**
 * What is wrong with a decomposition, in words (empty when nothing is). Each fault makes the chain
 * fail whatever the solver does:
 * - a name of the question is left out (as a whole word): a chain about two entities that asks
 *   about one of them twice never learns the other's facts;
 * - a sub-question is asked twice: the second copy adds no fact, so some step the question needs
 *   is missing (typically the same entity asked about where the question names two);
 * - a `#k` in sub-question i with k ≥ i points at an answer not known yet.
 * "No decomposition." has no faults; an unparseable answer is one.
 */
export function decompositionFaults(parsed: ParsedSubquestions, names: readonly string[]): string[] {
  if (parsed.kind === 'no-decomposition') return [];
  if (parsed.kind !== 'subquestions') return ['no numbered sub-questions'];
  const faults = missingNames(parsed, names).map((name) => `leaves out ${name}`);
  const seen = new Set<string>();
  parsed.subquestions.forEach((subquestion, index) => {
    const key = subquestion.trim().toLowerCase();
    if (seen.has(key)) faults.push(`asks "${subquestion}" twice`);
    seen.add(key);
    for (const step of references(subquestion))
      if (step < 1 || step > index)
        faults.push(`#${step} in sub-question ${index + 1} refers to no earlier step`);
  });
  return faults;
}
