/**
 * Exact rational numbers over bigint. Answers are compared exactly (3.5 is not 3, 0.1 + 0.2
 * is 0.3), which floating point cannot promise; no installed library offers exact rationals,
 * and the arithmetic needed here (build, reduce, compare, scale) is a few lines.
 */
export interface Rational {
  /** Carries the sign. */
  readonly numerator: bigint;
  /** Always positive. */
  readonly denominator: bigint;
}

function greatestCommonDivisor(left: bigint, right: bigint): bigint {
  let a = left < 0n ? -left : left;
  let b = right < 0n ? -right : right;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function makeRational(numerator: bigint, denominator: bigint = 1n): Rational {
  if (denominator === 0n) throw new RangeError('a rational number cannot have a zero denominator');
  const sign = denominator < 0n ? -1n : 1n;
  const divisor = greatestCommonDivisor(numerator, denominator) || 1n;
  return { numerator: (sign * numerator) / divisor, denominator: (sign * denominator) / divisor };
}

/** Parses a plain decimal such as `-1234.50` or `1.5e-3` (no grouping, no symbols). */
export function parseDecimal(text: string): Rational | null {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d{1,4}))?$/i.exec(text);
  if (match === null) return null;
  const [, sign, whole = '', fraction = '', exponentText] = match;
  if (whole === '' && fraction === '') return null;
  const exponent = Number(exponentText ?? '0') - fraction.length;
  let numerator = BigInt(`${whole}${fraction}` || '0');
  let denominator = 1n;
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator = 10n ** BigInt(-exponent);
  return makeRational(sign === '-' ? -numerator : numerator, denominator);
}

export function rationalEquals(left: Rational, right: Rational): boolean {
  return left.numerator === right.numerator && left.denominator === right.denominator;
}

export function multiplyRational(left: Rational, right: Rational): Rational {
  return makeRational(left.numerator * right.numerator, left.denominator * right.denominator);
}

export function negateRational(value: Rational): Rational {
  return makeRational(-value.numerator, value.denominator);
}

export function addRational(left: Rational, right: Rational): Rational {
  return makeRational(
    left.numerator * right.denominator + right.numerator * left.denominator,
    left.denominator * right.denominator,
  );
}

/** The nearest JavaScript number (for display and for `parseNumber`). */
export function rationalToNumber(value: Rational): number {
  return Number(value.numerator) / Number(value.denominator);
}

/**
 * A canonical decimal string when the value has a finite decimal expansion (`5/2` → `2.5`,
 * `-1000` → `-1000`), else `numerator/denominator`.
 */
export function rationalToString(value: Rational): string {
  let denominator = value.denominator;
  let twos = 0;
  let fives = 0;
  while (denominator % 2n === 0n) [denominator, twos] = [denominator / 2n, twos + 1];
  while (denominator % 5n === 0n) [denominator, fives] = [denominator / 5n, fives + 1];
  if (denominator !== 1n) return `${value.numerator}/${value.denominator}`;
  const places = Math.max(twos, fives);
  const scaled = (value.numerator * 10n ** BigInt(places)) / value.denominator;
  const negative = scaled < 0n;
  const digits = (negative ? -scaled : scaled).toString().padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  const fraction = places > 0 ? `.${digits.slice(digits.length - places)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
