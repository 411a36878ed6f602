/**
 * DROP (allenai, `drop_dataset_{train,dev}.json`): `{ passage_id: { passage, qa_pairs: [
 * { question, query_id, answer: { number, date: { day, month, year }, spans }, validated_answers } ] } }`.
 *
 * An answer is a number, a date or a bag of spans. The first non-empty of `answer` and
 * `validated_answers` is the gold; the other distinct ones are acceptable alternatives:
 * `meta.alternativeAnswers` (strings) and `meta.answerSpans` (every acceptable answer as its
 * bag of spans, gold first; the DROP metric scores against these). Number answers get
 * answerType `number`, dates and spans `text`; all are scored with the DROP F1.
 */
import { z } from 'zod';
import type { Example } from '../schemas.js';
import type { Converter } from './converter.js';
import { ConvertError, parseSourceRecord } from './converter.js';
import { readSourceJson } from './source-files.js';

const textField = z.union([z.string(), z.number()]).transform((value) => String(value).trim());

const dropAnswerSchema = z.looseObject({
  number: textField.optional(),
  date: z
    .looseObject({ day: textField.optional(), month: textField.optional(), year: textField.optional() })
    .optional(),
  spans: z.array(z.string()).optional(),
});
type DropAnswer = z.infer<typeof dropAnswerSchema>;

const qaPairSchema = z.looseObject({
  question: z.string().trim().min(1, 'is empty'),
  query_id: z.string().min(1, 'is empty'),
  answer: dropAnswerSchema,
  validated_answers: z.array(dropAnswerSchema).optional(),
});

const passageSchema = z.looseObject({
  passage: z.string().trim().min(1, 'is empty'),
  qa_pairs: z.array(z.unknown()),
});

const formatHint =
  '{ passage_id: { passage, qa_pairs: [ { question, query_id, answer: { number, date, spans } } ] } }';

type AnswerKind = 'number' | 'date' | 'spans';

interface ReadAnswer {
  kind: AnswerKind;
  spans: string[];
}

function readAnswer(answer: DropAnswer): ReadAnswer | null {
  if (answer.number !== undefined && answer.number !== '') return { kind: 'number', spans: [answer.number] };
  const spans = (answer.spans ?? []).map((span) => span.trim()).filter((span) => span !== '');
  if (spans.length > 0) return { kind: 'spans', spans };
  const date = answer.date;
  const dateText = [date?.day, date?.month, date?.year].filter((part) => part !== undefined && part !== '');
  if (dateText.length > 0) return { kind: 'date', spans: [dateText.join(' ')] };
  return null;
}

function convertQaPair(value: unknown, passageId: string, passage: string, location: string): Example {
  const pair = parseSourceRecord(qaPairSchema, value, location, formatHint);
  const read = [pair.answer, ...(pair.validated_answers ?? [])].map(readAnswer);
  const answers = read.filter((answer): answer is ReadAnswer => answer !== null);
  const gold = answers[0];
  if (gold === undefined) {
    throw new ConvertError(location, 'answer has no number, spans or date, and no validated answer has one');
  }
  const seen = new Set<string>([JSON.stringify(gold.spans)]);
  const alternatives = answers.slice(1).filter((answer) => {
    const key = JSON.stringify(answer.spans);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return {
    id: pair.query_id,
    dataset: 'drop',
    question: pair.question,
    answer: gold.spans.join(', '),
    answerType: gold.kind === 'number' ? 'number' : 'text',
    context: passage,
    meta: {
      passageId,
      answerKind: gold.kind,
      answerSpans: [gold.spans, ...alternatives.map((answer) => answer.spans)],
      alternativeAnswers: alternatives.map((answer) => answer.spans.join(', ')),
      ...(read[0] === null ? { goldFromValidatedAnswer: true } : {}),
    },
  };
}

export const dropConverter: Converter = {
  name: 'drop',
  description: 'DROP JSON: { passage_id: { passage, qa_pairs: [...] } }',
  async convert(file: string): Promise<Example[]> {
    const root = await readSourceJson(file);
    if (root === null || typeof root !== 'object' || Array.isArray(root)) {
      throw new ConvertError(
        file,
        `the top level must be an object keyed by passage id (expected ${formatHint})`,
      );
    }
    const examples: Example[] = [];
    for (const [passageId, value] of Object.entries(root)) {
      const passageLocation = `${file}: passage ${passageId}`;
      const entry = parseSourceRecord(passageSchema, value, passageLocation, formatHint);
      entry.qa_pairs.forEach((pair, index) => {
        const queryId = (pair as { query_id?: unknown } | null)?.query_id;
        const location = `${passageLocation}, qa_pairs[${index}]${typeof queryId === 'string' ? ` (query_id ${queryId})` : ''}`;
        examples.push(convertQaPair(pair, passageId, entry.passage, location));
      });
    }
    return examples;
  },
};
