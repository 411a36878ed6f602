/**
 * Renamed copies: training examples whose names are replaced by made-up ones, the same way in the
 * question and the answer. A student trained on a few thousand names may learn who usually plays
 * which part ("Trisou has 4 more than Finzel") instead of reading the part from the sentence: the
 * quickstart decomposers got the "B has N more than A … together" questions right 21 times in 22
 * on training questions and 5–9 times in 10 on the test split's unseen names. Fresh names in
 * every copy take that shortcut away. Measured: two quickstart decomposers with one copy each
 * scored like those without (the same test questions still failed), so it is off by default.
 *
 * A name is a capitalized word found in fewer than 1% of the examples' questions (in a set under
 * 200, in one only): template words ("How", "Which") and the words of a name's kind ("Holdings",
 * "Textiles") are common, names rare.
 */
import type { ChatExample } from '../data/schemas.js';
import { NameMaker } from '../worlds/names.js';
import { deriveSeed, Random } from '../worlds/random.js';

/** Share of the questions below which a capitalized word counts as a name. */
const nameShare = 0.01;

const capitalizedWord = /(?<!\p{L})\p{Lu}\p{L}+(?!\p{L})/gu;

const questionOf = (example: ChatExample): string =>
  example.messages
    .filter((message) => message.role === 'user')
    .map((message) => message.content)
    .join('\n');

/** The capitalized words of fewer than 1% of the examples' questions (of one, under 200). */
export function rareNames(examples: readonly ChatExample[]): Set<string> {
  const counts = new Map<string, number>();
  for (const example of examples)
    for (const word of new Set(questionOf(example).match(capitalizedWord) ?? []))
      counts.set(word, (counts.get(word) ?? 0) + 1);
  const limit = Math.max(2, examples.length * nameShare);
  return new Set([...counts].filter(([, count]) => count < limit).map(([word]) => word));
}

/**
 * `copies` renamed copies of every example (seeded): each name of an example gets one made-up
 * name, used for it in every message of that copy.
 */
export function renamedCopies(examples: readonly ChatExample[], copies: number, seed: number): ChatExample[] {
  if (copies === 0) return [];
  const names = rareNames(examples);
  const maker = new NameMaker(new Random(deriveSeed(seed, 'renamed-copies')));
  const result: ChatExample[] = [];
  for (let copy = 0; copy < copies; copy += 1)
    for (const example of examples) {
      const renamed = new Map<string, string>();
      const rename = (word: string): string => {
        if (!names.has(word)) return word;
        if (!renamed.has(word)) renamed.set(word, maker.make('first'));
        return renamed.get(word) as string;
      };
      result.push({
        ...example,
        messages: example.messages.map((message) => ({
          ...message,
          content: message.content.replace(capitalizedWord, rename),
        })),
      });
    }
  return result;
}
