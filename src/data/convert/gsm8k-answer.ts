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

/** Splits the answer field; throws at `location` when `#### N` is missing or not a number. */
export function parseGsm8kAnswer(answerField: string, location: string): Gsm8kAnswer {
  const lines = answerField.split(/\r?\n/).filter((line) => line.trim() !== '');
  const last = lines.at(-1) ?? '';
  const finalMatch = /^\s*####\s*(.*?)\s*$/.exec(last);
  if (finalMatch === null) {
    throw new ConvertError(
      location,
      `answer does not end with a line "#### N" (last line: ${JSON.stringify(last.slice(0, 80))})`,
    );
  }
  const rawAnswer = finalMatch[1] ?? '';
  const parsed = parseNumericAnswer(rawAnswer);
  if (parsed === null) {
    throw new ConvertError(location, `final answer "#### ${rawAnswer}" is not a number`);
  }
  const reasoningLines = lines.slice(0, -1);
  if (reasoningLines.some((line) => /^\s*####/.test(line))) {
    throw new ConvertError(
      location,
      'answer has more than one "####" line; only the last line may start with ####',
    );
  }
  return { reasoningLines, answer: rationalToString(parsed.value), rawAnswer };
}
