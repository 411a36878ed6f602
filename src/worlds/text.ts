/**
 * Text helpers shared by the worlds' generators, parsers and solvers: number formatting and
 * tolerant parsing, normalisation for matching, and phrase patterns compiled to regexes.
 */

/** Formats a number exactly: integers as digits, decimals with at most 4 places, no commas. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toFixed(4)));
}

/** Formats with thousands separators (for question text, where people write "12,500"). */
export function formatWithCommas(value: number): string {
  const [whole, fraction] = formatNumber(value).split('.');
  const grouped = (whole ?? '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** Reads a number written as "1,234", "$12.50", "25%" or "-3"; undefined when it is not one. */
export function parseNumber(text: string): number | undefined {
  const cleaned = text
    .trim()
    .replace(/^\$/, '')
    .replace(/%$/, '')
    .replace(/,(?=\d{3}\b)/g, '');
  if (!/^-?\d+(\.\d+)?$/.test(cleaned)) return undefined;
  return Number(cleaned);
}

/**
 * Canonical form for matching what people type: lower case, straight quotes, commas dropped
 * inside numbers, punctuation except `$ % # ' .`-in-numbers turned into spaces, spaces
 * collapsed.
 */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/(\d),(?=\d{3}\b)/g, '$1')
    .replace(/\.(?!\d)|(?<!\d)\./g, ' ')
    .replace(/[?!,;:"()[\]]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Trims, collapses spaces, straightens quotes and drops the final punctuation of a sentence. */
export function tidySentence(text: string): string {
  const tidy = text
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  // By hand rather than /\s*[?.!]+$/, which rescans a long run of marks from every position in it.
  let end = tidy.length;
  while (end > 0 && '?.!'.includes(tidy[end - 1] as string)) end -= 1;
  return end === tidy.length ? tidy : tidy.slice(0, end).trimEnd();
}

/** How a slot matches: a number, one word (a name), a few lower-case words, or any text. */
export type SlotKind = 'number' | 'name' | 'words' | 'phrase';

/** A number as people write it: "$1,200.50", "-3", "12" (a comma only before 3 digits). */
export const numberPattern = '\\$?-?(?:\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)?';

const slotPatterns: Record<SlotKind, string> = {
  number: numberPattern,
  name: "[A-Za-z][A-Za-z'-]*",
  words: '[A-Za-z-]+(?: [A-Za-z-]+){0,2}',
  phrase: '.+?',
};

/**
 * Compiles a phrase such as "Which was founded earlier, {X} or {Y}?" to an anchored,
 * case-insensitive regex with one named group per slot. Commas and spaces in the phrase are
 * optional/elastic, and the final punctuation is ignored, so small variations still match.
 * `slotKinds` restricts slots (default: any text).
 */
export function compilePhrase(text: string, slotKinds: Readonly<Record<string, SlotKind>> = {}): RegExp {
  const body = tidySentence(text);
  const seen = new Set<string>();
  let source = '';
  let last = 0;
  for (const match of body.matchAll(/\{(\w+)\}/g)) {
    source += literalPattern(body.slice(last, match.index));
    const name = match[1] as string;
    if (seen.has(name)) source += `\\k<${name}>`;
    else source += `(?<${name}>${slotPatterns[slotKinds[name] ?? 'phrase']})`;
    seen.add(name);
    last = (match.index ?? 0) + match[0].length;
  }
  source += literalPattern(body.slice(last));
  return new RegExp(`^${source}$`, 'i');
}

/** A literal piece of a phrase as a regex source: escaped, commas optional, spaces elastic. */
export function literalPattern(text: string): string {
  return text
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\s*,\s*/g, '\\s*,?\\s*')
    .replace(/ +/g, '\\s+');
}

/** Fills `{slot}` placeholders. */
export function fillPhrase(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}
