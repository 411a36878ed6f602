/**
 * Yes/no answers: `yes`, `No.`, `True`, `false`, `**Yes**, because ...`, `It is true that`.
 * An answer saying both `yes` and `no` hedges (null). Otherwise the first word decides when
 * it is a yes/no word; else the answer counts only when it holds words of exactly one
 * polarity. Anything else is no answer (null), never a guess.
 */

const yesWords = new Set(['yes', 'true', 'correct', 'yeah', 'yep']);
const noWords = new Set(['no', 'false', 'incorrect', 'nope', 'not']);

export function parseYesNo(text: string): boolean | null {
  const words: string[] = text.toLowerCase().match(/\p{L}+/gu) ?? [];
  if (words.includes('yes') && words.includes('no')) return null; // "yes and no" hedges
  const first = words[0];
  if (first !== undefined && yesWords.has(first)) return true;
  if (first !== undefined && noWords.has(first) && first !== 'not') return false;
  const saysYes = words.some((word) => yesWords.has(word));
  const saysNo = words.some((word) => noWords.has(word));
  if (saysYes === saysNo) return null;
  return saysYes;
}

/** True when `text` is itself a bare yes/no answer (`yes`, `No`, `true`, `FALSE.`). */
export function isYesNoAnswer(text: string): boolean {
  return /^\s*(yes|no|true|false)\s*[.!]?\s*$/i.test(text);
}
