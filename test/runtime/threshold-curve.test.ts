import { describe, expect, it } from 'vitest';
import { fitScorer, scoreFeatures } from '../../src/runtime/routing/scorer.js';
import {
  auroc,
  chooseThreshold,
  curvePoint,
  thresholdCurve,
  type PathOutcome,
} from '../../src/runtime/routing/threshold-curve.js';

const path = (
  correct: boolean,
  value: number | undefined,
  faults: string[] = [],
  usd = 0.001,
): PathOutcome => ({
  score: correct ? 1 : 0,
  correct,
  decomposeUsd: usd,
  solveUsd: 0.01,
  faults,
  signals: value === undefined ? {} : { 'mean-logprob': value },
});
const teacher = path(true, undefined, [], 0.1);
const questions = [
  [path(true, -0.1), teacher],
  [path(true, -0.2), teacher],
  [path(false, -0.8), teacher],
  [path(false, -0.05, ['sub-question 2 repeats an earlier one']), teacher],
];

describe('threshold curves', () => {
  it('sweeps from the student chain (faults aside) to the teacher chain without the student', () => {
    const curve = thresholdCurve(questions, 'mean-logprob');
    expect(curve[0]).toMatchObject({ threshold: -Infinity, escalateShare: 0.25, score: 0.75 });
    expect(curve.at(-1)).toMatchObject({ threshold: Infinity, escalateShare: 1, score: 1 });
    // +∞ does not ask the student: teacher decomposition plus solving only.
    expect(curve.at(-1)!.costPerExampleUsd).toBeCloseTo(0.11, 12);
    // Between −0.8 and −0.2 only the unsure student is escalated (and the faulty one).
    const middle = curvePoint(questions, 'mean-logprob', -0.5);
    expect(middle).toMatchObject({ escalateShare: 0.5, score: 1 });
    expect(middle.costPerExampleUsd).toBeCloseTo((0.011 * 2 + 0.111 * 2) / 4, 12);
    expect(curve.map((point) => point.escalateShare)).toEqual(
      [...curve.map((point) => point.escalateShare)].sort(),
    );
  });

  it('chooses the cheapest point reaching a target, and the best within a budget or a share', () => {
    const curve = thresholdCurve(questions, 'mean-logprob');
    const target = chooseThreshold(curve, { kind: 'target-accuracy', value: 0.95 });
    expect(target.met).toBe(true);
    expect(target.point.escalateShare).toBe(0.5);
    const share = chooseThreshold(curve, { kind: 'escalate-share', value: 0.3 });
    expect(share.point).toMatchObject({ escalateShare: 0.25, score: 0.75 });
    const budget = chooseThreshold(curve, { kind: 'max-cost-per-example', value: 0.001 });
    expect(budget.met).toBe(false);
    expect(budget.point.escalateShare).toBe(0.25);
    expect(chooseThreshold(curve, { kind: 'target-accuracy', value: 1.01 }).met).toBe(false);
  });

  it('computes AUROC as the chance a correct example outscores a wrong one', () => {
    expect(auroc([3, 2, 1, 0], [true, true, false, false])).toBe(1);
    expect(auroc([0, 1, 2, 3], [true, true, false, false])).toBe(0);
    expect(auroc([1, 1], [true, false])).toBe(0.5);
    expect(auroc([1, 2], [true, true])).toBeNull();
  });

  it('fits a logistic scorer that ranks by its features', () => {
    const examples = Array.from({ length: 40 }, (_, index) => ({
      values: { 'mean-logprob': -index / 10, subquestions: 2 },
      correct: index < 20,
    }));
    const scorer = fitScorer(['mean-logprob', 'subquestions'], examples);
    const confident = scoreFeatures(scorer, { 'mean-logprob': -0.1, subquestions: 2 })!;
    const unsure = scoreFeatures(scorer, { 'mean-logprob': -3.5, subquestions: 2 })!;
    expect(confident).toBeGreaterThan(0.8);
    expect(unsure).toBeLessThan(0.2);
    expect(scoreFeatures(scorer, { subquestions: 2 })).toBeUndefined();
  });
});
