import { describe, expect, it } from 'vitest';
import {
  numericMatch,
  parseNumber,
  parseNumericAnswer,
  rationalToString,
} from '../../src/data/metrics/index.js';

function exact(text: string): string | null {
  const parsed = parseNumericAnswer(text);
  return parsed === null ? null : `${rationalToString(parsed.value)}${parsed.percent ? '%' : ''}`;
}

describe('parseNumber reads numbers the way people write answers', () => {
  it.each([
    ['$1,234.50', 1234.5],
    ['1,000', 1000],
    ['1 234', 1234],
    ['1\u00a0234\u00a0567', 1234567],
    ['50%', 50],
    ['50 percent', 50],
    ['3/4', 0.75],
    ['1 1/2 cups', 1.5],
    ['-7', -7],
    ['\u22127', -7],
    ['-$7', -7],
    ['$-7', -7],
    ['2.50 dollars', 2.5],
    ['12 apples', 12],
    ['1e3', 1000],
    ['.5', 0.5],
    ['$1.2 million', 1_200_000],
    ['**18**', 18],
    ['twenty-five', 25],
    ['seven', 7],
    ['It costs 9 * 2 = 18 dollars.', 18],
    ['3-4', 4],
  ])('%s → %d', (text, expected) => {
    expect(parseNumber(text)).toBe(expected);
  });

  it.each(['', 'no idea', 'N/A', '3/0'])('%j has no number', (text) => {
    expect(parseNumber(text)).toBeNull();
  });

  it('keeps decimals exactly instead of going through floating point', () => {
    expect(exact('0.1')).toBe('0.1');
    expect(exact('2.50')).toBe('2.5');
    expect(exact('1,234.50')).toBe('1234.5');
    expect(exact('1/3')).toBe('1/3');
    expect(exact('12345678901234567890.5')).toBe('12345678901234567890.5');
    expect(exact('50%')).toBe('50%');
  });

  it('does not read a comma between numbers as a thousands separator', () => {
    expect(parseNumber('3,4')).toBe(3);
    expect(parseNumber('1,23')).toBe(1);
  });
});

describe('numericMatch compares exact values', () => {
  it.each([
    ['$1,234.50', '1234.5'],
    ['1234.50', '1,234.5'],
    ['18', '18'],
    ['$18.00', '18'],
    ['-7', '-7'],
    ['3/4', '0.75'],
    ['0.5', '1/2'],
    ['50%', '50'],
    ['50', '50%'],
    ['0.5', '50%'],
    ['2.50 dollars', '2.5'],
    ['12 apples', '12'],
    ['1e3', '1000'],
    ['1 000', '1000'],
  ])('%s equals gold %s', (prediction, gold) => {
    expect(numericMatch(prediction, gold)).toBe(true);
  });

  it.each([
    ['3', '3.5'],
    ['3.5', '3'],
    ['3.49', '3.5'],
    ['7', '-7'],
    ['50%', '0.5'],
    ['0.3333', '1/3'],
    ['12', '1,200'],
    ['', '5'],
    ['five hundred', '500'],
  ])('%s does not equal gold %s', (prediction, gold) => {
    expect(numericMatch(prediction, gold)).toBe(false);
  });
});
