/**
 * The threshold curve of a cascade, computed without running any brick again: each question's
 * decomposers were run once each (eval probes), so for any threshold the decomposer that would
 * decide, its score and the dollars the cascade would spend follow by arithmetic. Also the AUROC
 * of a signal for "the cheapest decomposer's chain reaches the gold answer" and the choice of a
 * threshold for a calibration criterion.
 */
import type { CalibrationCriterion } from './route-file.js';

/** One decomposer's chain on one question, as a probe measured it. */
export interface PathOutcome {
  score: number;
  correct: boolean;
  /** Full price (dollars spent plus dollars a cache hit saved). */
  decomposeUsd: number;
  solveUsd: number;
  faults: readonly string[];
  signals: Readonly<Record<string, number>>;
}

/** A question's paths, one per decomposer in cascade order. */
export type QuestionPaths = readonly PathOutcome[];

export interface CurvePoint {
  threshold: number;
  /** Share of questions the first decomposer did not decide. */
  escalateShare: number;
  score: number;
  costPerExampleUsd: number;
  /** Decomposition dollars alone (the first decomposers' overruled calls included). */
  decomposeUsdPerExample: number;
}

/** The index of the decomposer that decides at `threshold` (+Infinity: the last, the others not asked). */
export function decidingDecomposer(paths: QuestionPaths, signal: string, threshold: number): number {
  const last = paths.length - 1;
  if (threshold === Infinity) return last;
  for (let index = 0; index < last; index += 1) {
    const path = paths[index]!;
    const value = path.signals[signal];
    if (path.faults.length === 0 && value !== undefined && !(value < threshold)) return index;
  }
  return last;
}

export function curvePoint(
  questions: readonly QuestionPaths[],
  signal: string,
  threshold: number,
): CurvePoint {
  let escalated = 0;
  let score = 0;
  let cost = 0;
  let decompose = 0;
  for (const paths of questions) {
    const decided = decidingDecomposer(paths, signal, threshold);
    const first = threshold === Infinity ? paths.length - 1 : 0;
    let decomposeUsd = 0;
    for (let index = first; index <= decided; index += 1) decomposeUsd += paths[index]!.decomposeUsd;
    if (decided > 0) escalated += 1;
    score += paths[decided]!.score;
    decompose += decomposeUsd;
    cost += decomposeUsd + paths[decided]!.solveUsd;
  }
  const n = Math.max(1, questions.length);
  return {
    threshold,
    escalateShare: escalated / n,
    score: score / n,
    costPerExampleUsd: cost / n,
    decomposeUsdPerExample: decompose / n,
  };
}

/** −∞, the midpoints between the signal's distinct values on the first decomposer, +∞. */
export function thresholdCandidates(questions: readonly QuestionPaths[], signal: string): number[] {
  const values = [
    ...new Set(
      questions.flatMap((paths) => {
        const value = paths[0]?.signals[signal];
        return value === undefined || !Number.isFinite(value) ? [] : [value];
      }),
    ),
  ].sort((left, right) => left - right);
  const midpoints = values.slice(1).map((value, index) => (values[index]! + value) / 2);
  // Above the largest value every question escalates, yet the first decomposer is still asked
  // (unlike +∞, where it is not).
  const aboveAll = values.length > 0 ? [values.at(-1)! + 1e-9] : [];
  return [-Infinity, ...midpoints, ...aboveAll, Infinity];
}

export function thresholdCurve(questions: readonly QuestionPaths[], signal: string): CurvePoint[] {
  return thresholdCandidates(questions, signal).map((threshold) => curvePoint(questions, signal, threshold));
}

/**
 * Area under the ROC curve of `scores` for `labels` (Mann–Whitney: the chance that a random
 * positive scores above a random negative, ties counting half); null when a class is empty.
 */
export function auroc(scores: readonly number[], labels: readonly boolean[]): number | null {
  const positives = scores.filter((_, index) => labels[index]);
  const negatives = scores.filter((_, index) => !labels[index]);
  if (positives.length === 0 || negatives.length === 0) return null;
  let wins = 0;
  for (const positive of positives)
    for (const negative of negatives) wins += positive > negative ? 1 : positive === negative ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

/** AUROC of a signal on the first decomposer's paths (questions where it measured the signal). */
export function signalAuroc(
  questions: readonly QuestionPaths[],
  signal: string,
): { auroc: number | null; n: number } {
  const measured = questions.filter((paths) => paths[0]?.signals[signal] !== undefined);
  return {
    auroc: auroc(
      measured.map((paths) => paths[0]!.signals[signal]!),
      measured.map((paths) => paths[0]!.correct),
    ),
    n: measured.length,
  };
}

/**
 * The curve point a criterion picks: the cheapest point reaching a target accuracy, the most
 * accurate point within a cost per example, or the most accurate point within an escalation
 * share. When no point qualifies, the closest one (`met: false`).
 */
export function chooseThreshold(
  curve: readonly CurvePoint[],
  criterion: CalibrationCriterion,
): { point: CurvePoint; met: boolean } {
  const byCost = (left: CurvePoint, right: CurvePoint) => left.costPerExampleUsd - right.costPerExampleUsd;
  const byScoreThenCost = (left: CurvePoint, right: CurvePoint) =>
    right.score - left.score || byCost(left, right);
  const pick = (qualifying: CurvePoint[], order: typeof byCost) => [...qualifying].sort(order)[0];
  let qualifying: CurvePoint[];
  let fallback: CurvePoint;
  switch (criterion.kind) {
    case 'target-accuracy':
      qualifying = curve.filter((point) => point.score >= criterion.value);
      fallback = pick([...curve], byScoreThenCost)!;
      return qualifying.length > 0
        ? { point: pick(qualifying, byCost)!, met: true }
        : { point: fallback, met: false };
    case 'max-cost-per-example':
      qualifying = curve.filter((point) => point.costPerExampleUsd <= criterion.value);
      fallback = pick([...curve], byCost)!;
      break;
    case 'escalate-share':
      qualifying = curve.filter((point) => point.escalateShare <= criterion.value);
      fallback = pick([...curve], (left, right) => left.escalateShare - right.escalateShare)!;
      break;
  }
  return qualifying.length > 0
    ? { point: pick(qualifying, byScoreThenCost)!, met: true }
    : { point: fallback, met: false };
}
