/**
 * The GSM8K `answer` field: reasoning lines (with `<<48/2=24>>` calculator annotations),
 * then a last line `#### N`. Shared by the plain and the socratic converters.
 */
import { z } from 'zod';
import { parseNumericAnswer } from '../metrics/number.js';
import { rationalToString } from '../metrics/rational.js';
import { ConvertError } from './converter.js';

export const gsm8kRecordSchema = z.looseObject({
  question: z.string().trim().min(1, 'is empty'),
  answer: z.string().min(1, 'is empty'),
});
export type Gsm8kRecord = z.infer<typeof gsm8kRecordSchema>;

export const gsm8kFormatHint = '{"question": string, "answer": "reasoning lines ... \\n#### N"}';

/** Removes calculator annotations, keeping the result written after them: `<<9*2=18>>18` → `18`. */
export function stripCalculatorAnnotations(text: string): string {
  return text.replace(/<<[^\n]*?>>/g, '');
}

export interface Gsm8kAnswer {
  /** The non-empty lines before `####`, as published (annotations kept). */
  reasoningLines: string[];
  /** The final number, canonical: no thousands separators (`1,000` → `1000`), exact decimals. */
  answer: string;
  /** The text after `####` as published. */
  rawAnswer: string;
}

/** Why an answer field gives no usable example; the socratic converter counts these by name. */
export type Gsm8kAnswerProblem = 'no-final-answer' | 'final-answer-not-a-number' | 'several-final-answers';

export type Gsm8kAnswerReading =
  ({ ok: true } & Gsm8kAnswer) | { ok: false; problem: Gsm8kAnswerProblem; message: string };

/** Splits the answer field, or says which of its problems stops it from giving an example. */
export function readGsm8kAnswer(answerField: string): Gsm8kAnswerReading {
  const lines = answerField.split(/\r?\n/).filter((line) => line.trim() !== '');
  const last = lines.at(-1) ?? '';
  const finalMatch = /^\s*####\s*(.*?)\s*$/.exec(last);
  if (finalMatch === null)
    return {
      ok: false,
      problem: 'no-final-answer',
      message: `answer does not end with a line "#### N" (last line: ${JSON.stringify(last.slice(0, 80))})`,
    };
  const rawAnswer = finalMatch[1] ?? '';
  const parsed = parseNumericAnswer(rawAnswer);
  if (parsed === null)
    return {
      ok: false,
      problem: 'final-answer-not-a-number',
      message: `final answer "#### ${rawAnswer}" is not a number`,
    };
  const reasoningLines = lines.slice(0, -1);
  if (reasoningLines.some((line) => /^\s*####/.test(line)))
    return {
      ok: false,
      problem: 'several-final-answers',
      message: 'answer has more than one "####" line; only the last line may start with ####',
    };
  return { ok: true, reasoningLines, answer: rationalToString(parsed.value), rawAnswer };
}

/** Splits the answer field; throws at `location` when `#### N` is missing or not a number. */
export function parseGsm8kAnswer(answerField: string, location: string): Gsm8kAnswer {
  const reading = readGsm8kAnswer(answerField);
  if (!reading.ok) throw new ConvertError(location, reading.message);
  const { reasoningLines, answer, rawAnswer } = reading;
  return { reasoningLines, answer, rawAnswer };
}
