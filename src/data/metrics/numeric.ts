/**
 * Numeric exact match: both sides parse to exact rationals and must be equal (3.5 ≠ 3,
 * 0.5 = 1/2 = 0.50). Percentages: the percent sign is a unit, so `50%` matches a gold `50`
 * (GSM8K writes "what percent" answers without the sign); a fraction matches a percentage
 * (`0.5` for `50%`) only when the GOLD is written as a percentage, so that a solver cannot
 * be right by accident at a hundredth of the value.
 */
import { parseNumericAnswer } from './number.js';
import { makeRational, multiplyRational, rationalEquals } from './rational.js';

export function numericMatch(prediction: string, gold: string): boolean {
  const predicted = parseNumericAnswer(prediction);
  const expected = parseNumericAnswer(gold);
  if (predicted === null || expected === null) return false;
  if (rationalEquals(predicted.value, expected.value)) return true;
  if (expected.percent && !predicted.percent) {
    return rationalEquals(predicted.value, multiplyRational(expected.value, makeRational(1n, 100n)));
  }
  return false;
}
