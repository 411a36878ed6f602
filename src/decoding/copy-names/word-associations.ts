/**
 * Word associations: the answer words a question's wording all but decides, counted over a
 * student's training pairs ("fewer inhabitants" → "smaller", "younger" → "later", "first" →
 * "earlier"). A decomposer must turn the question's comparison into the one its sub-questions
 * use; a small student gets the direction wrong on a few percent of questions, and the
 * prompt-word bias cannot help where the words differ. The trainer records the associations
 * and the brick raises the associated words wherever the question has the key (prompt-word-bias.ts).
 *
 * A key is a lower-case word of the question or two consecutive ones (names and punctuation
 * between them are skipped: "inhabitants, Kaisea or" gives "inhabitants or"); an association needs the key in at
 * least `minimumKeyCount` questions, the answer word in at least `confidence` of their answers,
 * and that share to be `lift` times the word's share over all answers.
 *
 * Written by hand: a few counts, no library needed.
 */

export interface AssociationOptions {
  minimumKeyCount?: number;
  confidence?: number;
  lift?: number;
}

/** A whole lower-case word (not the tail of a capitalized one, nor the "s" of "'s"). */
const lowerCaseWord = /(?<![\p{L}'])\p{Ll}+(?![\p{L}'])/gu;

/** The lower-case words of a text and each pair of consecutive ones (other words skipped). */
export function questionKeys(text: string): Set<string> {
  const words = text.match(lowerCaseWord) ?? [];
  const keys = new Set(words);
  for (let index = 1; index < words.length; index += 1) keys.add(`${words[index - 1]} ${words[index]}`);
  return keys;
}

function answerWords(text: string): Set<string> {
  return new Set(text.match(lowerCaseWord) ?? []);
}

/** key → the answer words it predicts (sorted), over question/answer pairs. */
export function wordAssociations(
  pairs: readonly { question: string; answer: string }[],
  options: AssociationOptions = {},
): Record<string, string[]> {
  const { minimumKeyCount = 20, confidence = 0.95, lift = 3 } = options;
  const keyCounts = new Map<string, number>();
  const wordCounts = new Map<string, number>();
  const pairCounts = new Map<string, Map<string, number>>();
  for (const { question, answer } of pairs) {
    const words = answerWords(answer);
    for (const word of words) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    for (const key of questionKeys(question)) {
      keyCounts.set(key, (keyCounts.get(key) ?? 0) + 1);
      const counts = pairCounts.get(key) ?? new Map<string, number>();
      for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
      pairCounts.set(key, counts);
    }
  }
  const result: Record<string, string[]> = {};
  for (const [key, keyCount] of keyCounts) {
    if (keyCount < minimumKeyCount) continue;
    const own = new Set(key.split(' '));
    const predicted = [...(pairCounts.get(key) ?? [])]
      .filter(([word, count]) => {
        const share = count / keyCount;
        const base = (wordCounts.get(word) ?? 0) / pairs.length;
        return !own.has(word) && share >= confidence && share >= lift * base;
      })
      .map(([word]) => word)
      .sort();
    if (predicted.length > 0) result[key] = predicted;
  }
  return result;
}
