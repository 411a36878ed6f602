/**
 * Tolerant number parsing for answers: `$1,234.50`, `1 234`, `50%`, `3/4`, `1 1/2`, `-7`,
 * `−7`, `2.50 dollars`, `12 apples`, `1e3`, `1.2 million`, `twenty-five`. Values are exact
 * rationals, so decimals are never truncated or rounded.
 *
 * Decisions (documented for the README):
 * - When a text holds several numbers, the LAST one is the answer (as in GSM8K evaluation).
 * - Thousands separators: `,` between groups of exactly three digits, or a (non-breaking /
 *   thin) space between groups of three digits (`1 234`).
 * - Scientific notation is accepted (`1e3` = 1000).
 * - Number words are read only when the text holds no digits (zero to ninety-nine).
 * - A percent sign is a unit: `50%` parses to 50 with `percent: true`.
 */
import type { Rational } from './rational.js';
import { addRational, makeRational, multiplyRational, parseDecimal, rationalToNumber } from './rational.js';

export interface ParsedNumber {
  value: Rational;
  percent: boolean;
}

const numberPattern = new RegExp(
  [
    String.raw`(?<![\w.,/])`,
    String.raw`(?<signBefore>-)?\s?(?<currency>[$€£¥₹]\s?)?(?<signAfter>-)?`,
    '(?:',
    String.raw`(?<mixedWhole>\d+) (?<mixedNumerator>\d+)/(?<mixedDenominator>\d+)(?![\d.])`,
    String.raw`|(?<fractionNumerator>\d+) ?/ ?(?<fractionDenominator>\d+)(?![\d.])`,
    String.raw`|(?<integer>\d{1,3}(?:,\d{3})+(?![\d,])|\d{1,3}(?: \d{3})+(?!\d)|\d+)?(?<decimals>\.\d+)?`,
    String.raw`(?:e(?<exponent>[+-]?\d{1,3})(?!\w))?`,
    ')',
    String.raw`(?: ?(?<scale>thousand|million|billion)\b)?`,
    String.raw`(?: ?(?<percent>%|percent\b|per cent\b))?`,
  ].join(''),
  'giu',
);

const scales: Record<string, bigint> = { thousand: 1000n, million: 1_000_000n, billion: 1_000_000_000n };

const unitWords = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const tensWords = ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

function normalizeNumberText(text: string): string {
  return text
    .replace(/[\u00a0\u2009\u202f]/g, ' ') // non-breaking and thin spaces group thousands
    .replace(/\u2212/g, '-') // the Unicode minus sign
    .replace(/\*\*/g, '') // `**12**`: markdown bold
    .toLowerCase();
}

function matchToValue(groups: Record<string, string | undefined>): Rational | null {
  let value: Rational | null;
  if (groups.mixedWhole !== undefined) {
    const denominator = BigInt(groups.mixedDenominator ?? '0');
    if (denominator === 0n) return null;
    value = addRational(
      makeRational(BigInt(groups.mixedWhole)),
      makeRational(BigInt(groups.mixedNumerator ?? '0'), denominator),
    );
  } else if (groups.fractionNumerator !== undefined) {
    const denominator = BigInt(groups.fractionDenominator ?? '0');
    if (denominator === 0n) return null;
    value = makeRational(BigInt(groups.fractionNumerator), denominator);
  } else {
    const integer = (groups.integer ?? '').replace(/[, ]/g, '');
    const exponent = groups.exponent === undefined ? '' : `e${groups.exponent}`;
    value = parseDecimal(`${integer}${groups.decimals ?? ''}${exponent}`);
  }
  if (value === null) return null;
  const scale = groups.scale === undefined ? undefined : scales[groups.scale];
  if (scale !== undefined) value = multiplyRational(value, makeRational(scale));
  const negative = groups.signBefore === '-' || groups.signAfter === '-';
  return negative ? makeRational(-value.numerator, value.denominator) : value;
}

function parseNumberWords(text: string): ParsedNumber | null {
  const words = text.match(/[a-z]+(?:-[a-z]+)?/g) ?? [];
  for (let index = words.length - 1; index >= 0; index -= 1) {
    const [first = '', second] = (words[index] ?? '').split('-');
    const unit = unitWords.indexOf(first);
    const tens = tensWords.indexOf(first);
    if (second === undefined && unit >= 0) return { value: makeRational(BigInt(unit)), percent: false };
    if (tens < 0) continue;
    const secondUnit = second === undefined ? 0 : unitWords.indexOf(second);
    if (secondUnit < 0 || secondUnit > 9) continue;
    return { value: makeRational(BigInt((tens + 2) * 10 + secondUnit)), percent: false };
  }
  return null;
}

/** The last number in `text`, exactly, with whether it was written as a percentage. */
export function parseNumericAnswer(text: string): ParsedNumber | null {
  const normalized = normalizeNumberText(text);
  let last: ParsedNumber | null = null;
  for (const match of normalized.matchAll(numberPattern)) {
    const groups = match.groups ?? {};
    const hasDigits = /\d/.test(match[0]);
    if (!hasDigits) continue;
    const value = matchToValue(groups);
    if (value !== null) last = { value, percent: groups.percent !== undefined };
  }
  if (last !== null) return last;
  return /\d/.test(normalized) ? null : parseNumberWords(normalized);
}

/**
 * The numeric value of an answer as a JavaScript number, or null when it holds no number.
 * A percentage parses to the number written (`50%` → 50).
 */
export function parseNumber(text: string): number | null {
  const parsed = parseNumericAnswer(text);
  return parsed === null ? null : rationalToNumber(parsed.value);
}
