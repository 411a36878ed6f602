/**
 * The hops parser and solver do work linear in the question's length: on texts built to make
 * backtracking patterns quadratic ("Do x and x and … y", the phrase's end missing), doubling
 * the text at most about doubles the work counted by the parser's meter (phrase-matcher.ts),
 * and the parse still gives the right answer on long texts that do fit.
 */
import { describe, expect, it } from 'vitest';
import { getKnowledgeBase } from '../../src/worlds/hops/knowledge-base.js';
import { HopsParser } from '../../src/worlds/hops/parser.js';
import { solveHopsStep } from '../../src/worlds/hops/solver.js';
import { readStatedValues } from '../../src/worlds/hops/stated-values.js';
import { compilePhraseMatcher } from '../../src/worlds/phrase-matcher.js';

const knowledgeBase = getKnowledgeBase();

/** Work the parser and the solver do on `text` (a question parse, then a one-step solve). */
function work(text: string): number {
  const parser = new HopsParser(knowledgeBase);
  parser.question(text);
  solveHopsStep(parser, knowledgeBase, text);
  return parser.work.steps;
}

const families: Record<string, (n: number) => string> = {
  'X and Y, end missing': (n) => `Do ${'x and '.repeat(n)}y`,
  'X and Y, end present': (n) => `Do ${'x and '.repeat(n)}y work for the same company?`,
  'which of X and Y': (n) => `Which of ${'x and '.repeat(n)}y is older?`,
  'X or Y': (n) => `Who was born first, ${'x or '.repeat(n)}y?`,
  'nested noun phrases': (n) => `What is the ${'capital of the '.repeat(n)}x?`,
  'stated values': (n) => `Which ${'a '.repeat(n)}, x (1) or b (2)`,
  'stated values, many marks': (n) => `Which is later, ${'a (1) or '.repeat(n)}b`,
  'equality, end missing': (n) => `Are ${'x and '.repeat(n)}y`,
  'final marks': (n) => `Is x the same as y${'?'.repeat(n)}!`,
};

describe('hops parser complexity', () => {
  for (const [name, build] of Object.entries(families))
    it(`grows linearly: ${name}`, () => {
      const small = work(build(1_000));
      const large = work(build(2_000));
      const larger = work(build(4_000));
      expect(large / small).toBeLessThan(2.2);
      expect(larger / large).toBeLessThan(2.2);
      // A bounded number of units per character (a quadratic parse costs thousands).
      expect(larger / build(4_000).length).toBeLessThan(400);
    });

  it('still parses and answers long texts that fit', () => {
    const matcher = compilePhraseMatcher('Do {X} and {Y} work for the same company?');
    const long = `${'x and '.repeat(5_000)}y`;
    expect(matcher.exec(`Do ${long} work for the same company`)).toEqual({
      X: 'x',
      Y: `${'x and '.repeat(4_999)}y`,
    });
    expect(matcher.exec(`Do ${long}`)).toBeUndefined();
    const side = 'b'.repeat(20_000);
    expect(readStatedValues(`Which was founded earlier, ${side} (1987) or Beta (1992)`)).toEqual({
      words: ' was founded earlier',
      X: side,
      A: '1987',
      Y: 'Beta',
      B: '1992',
    });
    const parser = new HopsParser(knowledgeBase);
    expect(
      solveHopsStep(parser, knowledgeBase, `Which was founded later, ${side} (1987) or Beta (1992)?`),
    ).toEqual({
      ok: true,
      answer: 'Beta',
    });
  });
});
