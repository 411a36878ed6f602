/**
 * Fictional names built from syllables (never from lists of real names), unique across the
 * whole knowledge base so that a name always identifies one entity.
 */
import type { Random } from './random.js';

const onsets = [
  'b',
  'd',
  'f',
  'g',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'z',
  'br',
  'dr',
  'kr',
  'tr',
  'th',
  'st',
  'sh',
  'gr',
  'pl',
  'qu',
  'h',
  'j',
];
const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou', 'ae'];
const codas = ['', '', '', '', '', 'n', 'r', 'l', 's', 'm', 'x', 'nd'];

const companySuffixes = [
  'Labs',
  'Industries',
  'Systems',
  'Group',
  'Works',
  'Dynamics',
  'Holdings',
  'Foods',
  'Motors',
  'Media',
  'Robotics',
  'Textiles',
];
const cityEndings = ['', '', '', 'ford', 'holm', 'burg', 'haven', 'mere', 'port', 'vale', 'wick'];
const countryEndings = ['ia', 'land', 'stan', 'ora', 'ovia', 'esia', 'mark'];

/** Words that would confuse the question grammar if they appeared as a name. */
const reservedWords = new Set([
  'the',
  'and',
  'or',
  'of',
  'who',
  'which',
  'was',
  'is',
  'in',
  'for',
  'by',
  'did',
  'does',
]);

function syllable(random: Random): string {
  return random.pick(onsets) + random.pick(vowels) + random.pick(codas);
}

function word(random: Random, syllables: number): string {
  let text = '';
  for (let index = 0; index < syllables; index += 1) text += syllable(random);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export type NameKind = 'person' | 'company' | 'city' | 'country' | 'first';

/** Produces unique names; `taken` is shared across kinds. */
export class NameMaker {
  private readonly taken = new Set<string>();

  constructor(private readonly random: Random) {}

  make(kind: NameKind): string {
    for (let attempt = 0; attempt < 1000; attempt += 1) {
      const name = this.candidate(kind);
      const key = name.toLowerCase();
      const words = key.split(' ');
      if (this.taken.has(key) || words.some((part) => reservedWords.has(part) || part.length < 3)) continue;
      this.taken.add(key);
      return name;
    }
    throw new Error(`could not make a unique ${kind} name`);
  }

  private candidate(kind: NameKind): string {
    const random = this.random;
    switch (kind) {
      case 'person':
        return `${word(random, 2)} ${word(random, 2)}`;
      case 'company':
        return `${word(random, 2)} ${random.pick(companySuffixes)}`;
      case 'city':
        return word(random, 2) + random.pick(cityEndings);
      case 'country':
        return word(random, 2) + random.pick(countryEndings);
      case 'first':
        return word(random, 2);
    }
  }
}
