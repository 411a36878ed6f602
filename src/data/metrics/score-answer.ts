/**
 * Scores a prediction against an Example's gold answer with the metric its dataset uses.
 *
 * Metric choice, in order:
 * 1. `meta.metric` when it names a metric (`numeric`, `exact-match`, `f1`, `drop-f1`, `yes-no`);
 * 2. dataset `drop` → `drop-f1` (the official DROP EM/F1 over span bags);
 * 3. answerType `number` → `numeric`; `boolean` → `yes-no`;
 * 4. answerType `text` whose gold is a bare yes/no (HotpotQA comparisons) → `yes-no`;
 * 5. other text → `f1` (SQuAD token F1 as the score, SQuAD EM as `correct`).
 *
 * Acceptable alternatives: `meta.alternativeAnswers: string[]` (every metric takes the best
 * over the answer and its alternatives); for DROP, `meta.answerSpans: string[][]` holds each
 * acceptable answer as its bag of spans. The prediction may be a whole solver output: its
 * final answer is extracted first (`extractFinalAnswer`), which leaves a bare answer as is.
 */
import type { Example } from '../schemas.js';
import { dropScore, splitPredictedSpans } from './drop.js';
import { extractFinalAnswer } from './extract-final-answer.js';
import { numericMatch } from './numeric.js';
import { exactMatch, tokenF1 } from './squad.js';
import { isYesNoAnswer, parseYesNo } from './yes-no.js';

export interface AnswerScore {
  correct: boolean;
  score: number;
  metric: 'numeric' | 'exact-match' | 'f1' | 'drop-f1' | 'yes-no';
}

export type AnswerMetric = AnswerScore['metric'];
export type ScoredExample = Pick<Example, 'answer' | 'answerType' | 'dataset' | 'meta'>;

export const answerMetrics: readonly AnswerMetric[] = ['numeric', 'exact-match', 'f1', 'drop-f1', 'yes-no'];

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

export function chooseMetric(example: ScoredExample): AnswerMetric {
  const override = example.meta?.metric;
  if (typeof override === 'string' && (answerMetrics as readonly string[]).includes(override)) {
    return override as AnswerMetric;
  }
  if (example.dataset === 'drop') return 'drop-f1';
  if (example.answerType === 'number') return 'numeric';
  if (example.answerType === 'boolean' || isYesNoAnswer(example.answer)) return 'yes-no';
  return 'f1';
}

/** The gold answer followed by its acceptable alternatives (`meta.alternativeAnswers`). */
export function goldAnswers(example: ScoredExample): string[] {
  const alternatives = example.meta?.alternativeAnswers;
  return [example.answer, ...(isStringArray(alternatives) ? alternatives : [])];
}

function goldSpanBags(example: ScoredExample): string[][] {
  const spans = example.meta?.answerSpans;
  if (Array.isArray(spans) && spans.length > 0 && spans.every(isStringArray)) return spans;
  return goldAnswers(example).map((answer) => [answer]);
}

function scoreDrop(answer: string, example: ScoredExample): AnswerScore {
  const golds = goldSpanBags(example);
  const mostSpans = Math.max(...golds.map((gold) => gold.length));
  const whole = dropScore([answer], golds);
  const split = dropScore(splitPredictedSpans(answer, mostSpans), golds);
  const best = split.f1 > whole.f1 || split.exactMatch > whole.exactMatch ? split : whole;
  return { correct: best.exactMatch === 1, score: best.f1, metric: 'drop-f1' };
}

function scoreWith(metric: AnswerMetric, answer: string, example: ScoredExample): AnswerScore {
  const golds = goldAnswers(example);
  switch (metric) {
    case 'numeric': {
      const correct = golds.some((gold) => numericMatch(answer, gold));
      return { correct, score: correct ? 1 : 0, metric };
    }
    case 'yes-no': {
      const predicted = parseYesNo(answer);
      const correct = predicted !== null && golds.some((gold) => parseYesNo(gold) === predicted);
      return { correct, score: correct ? 1 : 0, metric };
    }
    case 'exact-match': {
      const correct = golds.some((gold) => exactMatch(answer, gold));
      return { correct, score: correct ? 1 : 0, metric };
    }
    case 'f1': {
      const correct = golds.some((gold) => exactMatch(answer, gold));
      return { correct, score: Math.max(...golds.map((gold) => tokenF1(answer, gold))), metric };
    }
    case 'drop-f1':
      return scoreDrop(answer, example);
  }
}

export function scoreAnswer(prediction: string, example: ScoredExample): AnswerScore {
  return scoreWith(chooseMetric(example), extractFinalAnswer(prediction), example);
}
