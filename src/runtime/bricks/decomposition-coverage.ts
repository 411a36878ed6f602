/**
 * Coverage: does a decomposition mention every name of its question?
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

/**
 * Whether a parsed decomposition mentions every name (as a whole word). "No decomposition" has
 * nothing to check and passes; an unparseable answer fails.
 */
export function coversNames(parsed: ParsedSubquestions, names: readonly string[]): boolean {
  if (parsed.kind === 'no-decomposition') return true;
  if (parsed.kind !== 'subquestions') return false;
  const mentioned = new Set(parsed.subquestions.join('\n').match(/\p{L}+/gu) ?? []);
  return names.every((name) => mentioned.has(name));
}
