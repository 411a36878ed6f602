/**
 * StrategyQA (Geva et al. 2021, `strategyqa_train.json`): a JSON array of `{ qid, term,
 * description, question, answer: boolean, facts: [..], decomposition: [..], evidence }`.
 * The decomposition (whose steps refer to earlier ones as `#1`, `#2`, like dnc's
 * sub-questions) is the gold decomposition; the answer becomes `yes`/`no` (answerType
 * `boolean`). Facts stay in `meta.facts`, not in `context`: they would give the answer away.
 */
import { z } from 'zod';
import type { Example } from '../schemas.js';
import type { Converter } from './converter.js';
import { ConvertError, parseSourceRecord } from './converter.js';
import { readSourceJson } from './source-files.js';

const strategyRecordSchema = z.looseObject({
  qid: z.string().min(1, 'is empty'),
  term: z.string().optional(),
  description: z.string().optional(),
  question: z.string().trim().min(1, 'is empty'),
  answer: z.boolean({
    error: (issue) =>
      issue.input === undefined
        ? 'is missing (the StrategyQA test file has no answers; convert the train file)'
        : 'must be true or false',
  }),
  facts: z.array(z.string()).optional(),
  decomposition: z.array(z.string().trim().min(1, 'is empty')).optional(),
});

const formatHint =
  'a JSON array of { qid, term, description, question, answer: boolean, facts, decomposition }';

export const strategyqaConverter: Converter = {
  name: 'strategyqa',
  description: 'StrategyQA JSON array: { qid, question, answer: boolean, facts, decomposition }',
  async convert(file: string): Promise<Example[]> {
    const root = await readSourceJson(file);
    if (!Array.isArray(root))
      throw new ConvertError(file, `the top level must be an array (expected ${formatHint})`);
    return root.map((value: unknown, index): Example => {
      const id = (value as { qid?: unknown } | null)?.qid;
      const location = `${file}: record ${index + 1}${typeof id === 'string' ? ` (qid ${id})` : ''}`;
      const record = parseSourceRecord(strategyRecordSchema, value, location, formatHint);
      const steps = record.decomposition ?? [];
      return {
        id: record.qid,
        dataset: 'strategyqa',
        question: record.question,
        answer: record.answer ? 'yes' : 'no',
        answerType: 'boolean',
        ...(steps.length > 0 ? { gold: { subquestions: steps } } : {}),
        meta: {
          ...(record.term === undefined ? {} : { term: record.term }),
          ...(record.description === undefined ? {} : { description: record.description }),
          ...(record.facts === undefined ? {} : { facts: record.facts }),
        },
      };
    });
  },
};
