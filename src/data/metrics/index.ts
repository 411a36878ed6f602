/** Answer metrics: the public API the chain, eval and filter stages call. */
export type { AnswerMetric, AnswerScore, ScoredExample } from './score-answer.js';
export { answerMetrics, chooseMetric, goldAnswers, scoreAnswer } from './score-answer.js';
export { extractFinalAnswer } from './extract-final-answer.js';
export { parseNumber, parseNumericAnswer } from './number.js';
export type { ParsedNumber } from './number.js';
export { numericMatch } from './numeric.js';
export { answerTokens, exactMatch, normalizeAnswer, tokenF1 } from './squad.js';
export { dropMetrics, dropScore, splitPredictedSpans } from './drop.js';
export type { DropScore } from './drop.js';
export { isYesNoAnswer, parseYesNo } from './yes-no.js';
export type { Rational } from './rational.js';
export { parseDecimal, rationalEquals, rationalToNumber, rationalToString } from './rational.js';
