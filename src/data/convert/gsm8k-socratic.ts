/**
 * GSM8K socratic (`grade_school_math/data/{train,test}_socratic.jsonl`): like GSM8K, but
 * every reasoning line is `sub-question ** answer text with <<48/2=24>>24`. The
 * sub-questions become the gold decomposition; the answer texts, with calculator
 * annotations stripped (results kept), the gold sub-answers.
 */
import type { Example } from '../schemas.js';
import type { Converter } from './converter.js';
import { ConvertError, fileStem, parseSourceRecord } from './converter.js';
import {
  gsm8kFormatHint,
  gsm8kRecordSchema,
  parseGsm8kAnswer,
  stripCalculatorAnnotations,
} from './gsm8k-answer.js';
import { readSourceLines } from './source-files.js';

interface SocraticStep {
  subquestion: string;
  subanswer: string;
}

/** Splits each step at its first `**` (a sub-question never contains one; an answer may). */
function parseSteps(lines: readonly string[], location: string): SocraticStep[] {
  if (lines.length === 0) throw new ConvertError(location, 'answer has no steps before "#### N"');
  return lines.map((line, index) => {
    const separator = line.indexOf('**');
    if (separator < 0) {
      throw new ConvertError(
        location,
        `step ${index + 1} has no "**" between sub-question and answer (${JSON.stringify(line.slice(0, 80))}); ` +
          'is this the plain GSM8K file? then use --format gsm8k',
      );
    }
    const subquestion = line.slice(0, separator).trim();
    const subanswer = stripCalculatorAnnotations(line.slice(separator + 2))
      .replace(/\s+/g, ' ')
      .trim();
    if (subquestion === '') throw new ConvertError(location, `step ${index + 1} has an empty sub-question`);
    if (subanswer === '') throw new ConvertError(location, `step ${index + 1} has an empty answer`);
    return { subquestion, subanswer };
  });
}

export const gsm8kSocraticConverter: Converter = {
  name: 'gsm8k-socratic',
  description: 'GSM8K socratic JSON Lines: each step "sub-question ** answer", last line "#### N"',
  async convert(file: string): Promise<Example[]> {
    const examples: Example[] = [];
    const stem = fileStem(file);
    for await (const { value, line } of readSourceLines(file)) {
      const location = `${file}:${line}`;
      const record = parseSourceRecord(gsm8kRecordSchema, value, location, gsm8kFormatHint);
      const parsed = parseGsm8kAnswer(record.answer, location);
      const steps = parseSteps(parsed.reasoningLines, location);
      examples.push({
        id: `gsm8k-socratic-${stem}-${line}`,
        dataset: 'gsm8k-socratic',
        question: record.question.trim(),
        answer: parsed.answer,
        answerType: 'number',
        gold: {
          subquestions: steps.map((step) => step.subquestion),
          subanswers: steps.map((step) => step.subanswer),
        },
        meta: {
          source: { file: stem, line },
          ...(parsed.rawAnswer === parsed.answer ? {} : { rawAnswer: parsed.rawAnswer }),
        },
      });
    }
    return examples;
  },
};
