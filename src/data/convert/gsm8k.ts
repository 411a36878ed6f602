/**
 * GSM8K (openai/grade-school-math, `grade_school_math/data/{train,test}.jsonl`): one JSON
 * object per line, `{ question, answer }`, the answer ending in `#### N`. No gold
 * decomposition; the reasoning (annotations stripped) is kept in `meta.solution`.
 */
import type { Example } from '../schemas.js';
import type { Converter } from './converter.js';
import { fileStem, parseSourceRecord } from './converter.js';
import {
  gsm8kFormatHint,
  gsm8kRecordSchema,
  parseGsm8kAnswer,
  stripCalculatorAnnotations,
} from './gsm8k-answer.js';
import { readSourceLines } from './source-files.js';

export const gsm8kConverter: Converter = {
  name: 'gsm8k',
  description: 'GSM8K JSON Lines: {"question", "answer": "...\\n#### N"}',
  async convert(file: string): Promise<Example[]> {
    const examples: Example[] = [];
    const stem = fileStem(file);
    for await (const { value, line } of readSourceLines(file)) {
      const location = `${file}:${line}`;
      const record = parseSourceRecord(gsm8kRecordSchema, value, location, gsm8kFormatHint);
      const parsed = parseGsm8kAnswer(record.answer, location);
      examples.push({
        id: `gsm8k-${stem}-${line}`,
        dataset: 'gsm8k',
        question: record.question.trim(),
        answer: parsed.answer,
        answerType: 'number',
        meta: {
          source: { file: `${stem}`, line },
          solution: parsed.reasoningLines.map(stripCalculatorAnnotations).join('\n'),
          ...(parsed.rawAnswer === parsed.answer ? {} : { rawAnswer: parsed.rawAnswer }),
        },
      });
    }
    return examples;
  },
};
