import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** Pieces that stress a byte-level tokenizer: every script class, emoji sequences, whitespace. */
const pieces = [
  'hello',
  'World',
  ' the',
  "'s",
  "'ll",
  "don't",
  '42',
  '3.14159',
  '1,000,000',
  '$12.50',
  '数学',
  '東京都',
  '한국어',
  'Привет',
  'مرحبا',
  'שלום',
  'ελληνικά',
  'हिन्दी',
  'ไทย',
  '😀',
  '👩‍👩‍👧‍👦',
  '🇫🇷',
  '👍🏽',
  '∑∫√∞',
  '€',
  '\u0301',
  'e\u0301',
  'a\u0308\u0323',
  ' ',
  '  ',
  '   ',
  '\t',
  '\n',
  '\n\n',
  '\r\n',
  '\u00a0',
  '\u2003',
  '\u200b',
  '\ufeff',
  '<|end|>',
  '<|user|>',
  '<|',
  '|>',
  '\u0000',
  '\u007f',
  '\\',
  '"',
  '{}',
  '#1',
  '→',
];

/** A deterministic random string of 0..40 pieces and random code points (no lone surrogates). */
export function randomTexts(count: number, seed: number): string[] {
  const random = xoroshiro128plus(seed);
  const texts: string[] = [];
  for (let index = 0; index < count; index += 1) {
    let text = '';
    const length = uniformInt(random, 0, 40);
    for (let position = 0; position < length; position += 1) {
      if (uniformInt(random, 0, 4) === 0) {
        let codePoint = uniformInt(random, 0, 0x10ffff);
        if (codePoint >= 0xd800 && codePoint <= 0xdfff) codePoint = 0x20;
        text += String.fromCodePoint(codePoint);
      } else {
        text += pieces[uniformInt(random, 0, pieces.length - 1)];
      }
    }
    texts.push(text);
  }
  return texts;
}

/** A small English-like corpus of chat-ish lines for training test tokenizers. */
export function sampleCorpus(lines: number, seed: number): string[] {
  const random = xoroshiro128plus(seed);
  const names = ['Alice', 'Bob', 'Carol', 'Dmitri', 'Eun-ji', 'Fatima'];
  const things = ['apples', 'oranges', 'books', 'coins', 'tickets'];
  const corpus: string[] = [];
  for (let index = 0; index < lines; index += 1) {
    const name = names[uniformInt(random, 0, names.length - 1)];
    const thing = things[uniformInt(random, 0, things.length - 1)];
    const count = uniformInt(random, 1, 500);
    corpus.push(
      `${name} has ${count} ${thing}. How many ${thing} does ${name} have?\nThe answer is: ${count}`,
    );
  }
  return corpus;
}
