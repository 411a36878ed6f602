/**
 * HotpotQA (`hotpot_train_v1.1.json`, `hotpot_dev_distractor_v1.json`, ...): a JSON array
 * of `{ _id, question, answer, type: bridge|comparison, level, supporting_facts: [[title,
 * sent_id]], context: [[title, [sentences]]] }`.
 *
 * The context paragraphs become `context` ("Title: sentences", blank line between). The
 * answer stays `text`, also for yes/no comparisons: scoreAnswer routes a bare yes/no gold
 * through yes/no normalization, so "Yes, both are" is right and the answer string is kept
 * exactly as published. Supporting facts go to `meta.supportingFacts` as published (the
 * real files contain a few sentence ids past the paragraph's end, so they are not checked).
 */
import { z } from 'zod';
import type { Example } from '../schemas.js';
import type { Converter } from './converter.js';
import { ConvertError, parseSourceRecord } from './converter.js';
import { readSourceJson } from './source-files.js';

const hotpotRecordSchema = z.looseObject({
  _id: z.string().min(1, 'is empty'),
  question: z.string().trim().min(1, 'is empty'),
  answer: z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'is missing (the HotpotQA test files have no answers; convert train or dev)'
          : 'must be a string',
    })
    .trim()
    .min(1, 'is empty'),
  type: z.enum(['bridge', 'comparison']).optional(),
  level: z.string().optional(),
  supporting_facts: z.array(z.tuple([z.string(), z.number().int().nonnegative()])).optional(),
  context: z.array(z.tuple([z.string(), z.array(z.string())])),
});

const formatHint = 'a JSON array of { _id, question, answer, type, level, supporting_facts, context }';

function formatContext(paragraphs: readonly (readonly [string, readonly string[]])[]): string {
  return paragraphs.map(([title, sentences]) => `${title}: ${sentences.join('').trim()}`).join('\n\n');
}

export const hotpotqaConverter: Converter = {
  name: 'hotpotqa',
  description: 'HotpotQA JSON array: { _id, question, answer, type, level, supporting_facts, context }',
  async convert(file: string): Promise<Example[]> {
    const root = await readSourceJson(file);
    if (!Array.isArray(root))
      throw new ConvertError(file, `the top level must be an array (expected ${formatHint})`);
    return root.map((value: unknown, index): Example => {
      const id = (value as { _id?: unknown } | null)?._id;
      const location = `${file}: record ${index + 1}${typeof id === 'string' ? ` (_id ${id})` : ''}`;
      const record = parseSourceRecord(hotpotRecordSchema, value, location, formatHint);
      return {
        id: record._id,
        dataset: 'hotpotqa',
        question: record.question,
        answer: record.answer,
        answerType: 'text',
        ...(record.context.length > 0 ? { context: formatContext(record.context) } : {}),
        meta: {
          ...(record.type === undefined ? {} : { type: record.type }),
          ...(record.level === undefined ? {} : { level: record.level }),
          ...(record.supporting_facts === undefined ? {} : { supportingFacts: record.supporting_facts }),
        },
      };
    });
  },
};
