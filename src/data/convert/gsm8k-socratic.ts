/**
 * GSM8K socratic (`grade_school_math/data/{train,test}_socratic.jsonl`): like GSM8K, but
 * every reasoning line is `sub-question ** answer text with <<48/2=24>>24`. The
 * sub-questions become the gold decomposition; the answer texts, with calculator
 * annotations stripped (results kept), the gold sub-answers.
 *
 * The published files are not clean everywhere: some steps have nothing after `**` (and the
 * next line asks the same sub-question again, answered). Such steps are dropped and counted,
 * so the whole file converts; a record left without a step, or without a numeric `#### N`,
 * is dropped and counted too. A file in which no step has a `**` is the plain GSM8K file:
 * that stops the conversion with a hint, since every record would be dropped.
 */
import type { Example } from '../schemas.js';
import type { Converter, ConversionTally } from './converter.js';
import { ConvertError, countDrop, emptyTally, fileStem, parseSourceRecord } from './converter.js';
import {
  gsm8kFormatHint,
  gsm8kRecordSchema,
  readGsm8kAnswer,
  stripCalculatorAnnotations,
} from './gsm8k-answer.js';
import { readSourceLines } from './source-files.js';

interface SocraticStep {
  subquestion: string;
  subanswer: string;
}

/** Why a step is left out of the gold decomposition. */
export type StepDropReason = 'empty-answer' | 'empty-subquestion' | 'no-separator';

/**
 * The separator: `**` with white space (or the line's edge) on both sides. An exponent such as
 * `2**3` has none, so it is not taken for the separator even inside a sub-question. A `**` right
 * after a question mark (`How many?** 5`) separates too.
 */
const spacedSeparator = /(?:^|\s)\*\*(?=\s|$)/;
const afterQuestionMark = /\?\s*\*\*/;

function splitStep(line: string): { subquestion: string; answer: string } | StepDropReason {
  const spaced = spacedSeparator.exec(line);
  const tight = spaced === null ? afterQuestionMark.exec(line) : null;
  const match = spaced ?? tight;
  if (match === null) return 'no-separator';
  const at = match.index + match[0].length - 2;
  return { subquestion: line.slice(0, at), answer: line.slice(at + 2) };
}

/** The steps of one record, each unusable one counted under its reason and left out. */
function parseSteps(
  lines: readonly string[],
  stepsDropped: Record<string, number>,
): { steps: SocraticStep[]; separators: number } {
  const steps: SocraticStep[] = [];
  let separators = 0;
  for (const line of lines) {
    const split = splitStep(line);
    if (typeof split === 'string') {
      countDrop(stepsDropped, split);
      continue;
    }
    separators += 1;
    const subquestion = split.subquestion.replace(/\s+/g, ' ').trim();
    const subanswer = stripCalculatorAnnotations(split.answer).replace(/\s+/g, ' ').trim();
    if (subquestion === '') countDrop(stepsDropped, 'empty-subquestion');
    else if (subanswer === '') countDrop(stepsDropped, 'empty-answer');
    else steps.push({ subquestion, subanswer });
  }
  return { steps, separators };
}

function plainGsm8kError(location: string, line: string): ConvertError {
  return new ConvertError(
    location,
    `step 1 has no "**" between sub-question and answer (${JSON.stringify(line.slice(0, 80))}), nor does any ` +
      'other step of the file; is this the plain GSM8K file? then use --format gsm8k',
  );
}

export const gsm8kSocraticConverter: Converter = {
  name: 'gsm8k-socratic',
  description: 'GSM8K socratic JSON Lines: each step "sub-question ** answer", last line "#### N"',
  async convert(file: string, tally: ConversionTally = emptyTally()): Promise<Example[]> {
    const examples: Example[] = [];
    const stem = fileStem(file);
    let separators = 0;
    let firstStepless: { location: string; line: string } | undefined;
    for await (const { value, line } of readSourceLines(file)) {
      const location = `${file}:${line}`;
      const record = parseSourceRecord(gsm8kRecordSchema, value, location, gsm8kFormatHint);
      const reading = readGsm8kAnswer(record.answer);
      if (!reading.ok) {
        countDrop(tally.recordsDropped, reading.problem);
        continue;
      }
      const parsed = parseSteps(reading.reasoningLines, tally.stepsDropped);
      separators += parsed.separators;
      if (parsed.separators === 0 && reading.reasoningLines.length > 0)
        firstStepless ??= { location, line: reading.reasoningLines[0]! };
      if (parsed.steps.length === 0) {
        countDrop(tally.recordsDropped, 'no-steps');
        continue;
      }
      examples.push({
        id: `gsm8k-socratic-${stem}-${line}`,
        dataset: 'gsm8k-socratic',
        question: record.question.trim(),
        answer: reading.answer,
        answerType: 'number',
        gold: {
          subquestions: parsed.steps.map((step) => step.subquestion),
          subanswers: parsed.steps.map((step) => step.subanswer),
        },
        meta: {
          source: { file: stem, line },
          ...(reading.rawAnswer === reading.answer ? {} : { rawAnswer: reading.rawAnswer }),
        },
      });
    }
    if (separators === 0 && firstStepless !== undefined)
      throw plainGsm8kError(firstStepless.location, firstStepless.line);
    return examples;
  },
};
