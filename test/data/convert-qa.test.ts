import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertFile, formatNames, getConverter } from '../../src/data/convert/index.js';
import { scoreAnswer } from '../../src/data/metrics/index.js';
import { exampleSchema } from '../../src/data/schemas.js';

async function temporaryFile(name: string, content: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'dnc-convert-')), name);
  await writeFile(file, content);
  return file;
}

describe('drop converter', () => {
  it('reads numbers, span bags and dates with validated alternatives', async () => {
    const examples = await convertFile('drop', 'datasets/drop/fixture-dev.json');
    expect(examples.map((example) => example.id)).toEqual([
      'q-1184-1',
      'q-1184-2',
      'q-1184-3',
      'q-2031-1',
      'q-2031-2',
    ]);
    for (const example of examples) expect(exampleSchema.safeParse(example).success).toBe(true);
    const [yards, kickers, touchdown, date, population] = examples;
    expect(yards).toMatchObject({ answer: '31', answerType: 'number' });
    expect(yards?.meta?.alternativeAnswers).toEqual(['31.0']);
    expect(kickers?.meta?.answerSpans).toEqual([
      ['Rob Bironas', 'Neil Rackers'],
      ['Bironas', 'Rackers'],
    ]);
    expect(touchdown?.meta?.alternativeAnswers).toEqual(['Tate']);
    expect(date).toMatchObject({ answer: '12 March 1657', answerType: 'text' });
    expect(date?.meta?.alternativeAnswers).toEqual(['1657']);
    expect(population).toMatchObject({ answer: '3250', meta: { goldFromValidatedAnswer: true } });
    expect(yards?.context).toContain('Rob Bironas');
  });

  it('scores its examples with the DROP F1 against every acceptable answer', async () => {
    const [, kickers] = await convertFile('drop', 'datasets/drop/fixture-dev.json');
    if (kickers === undefined) throw new Error('fixture changed');
    expect(scoreAnswer('Rackers and Bironas', kickers)).toEqual({
      correct: true,
      score: 1,
      metric: 'drop-f1',
    });
  });

  it('rejects a question without any answer, naming passage and query', async () => {
    const empty = { number: '', date: { day: '', month: '', year: '' }, spans: [] };
    const file = await temporaryFile(
      'drop.json',
      JSON.stringify({
        p1: { passage: 'text', qa_pairs: [{ question: 'q?', query_id: 'x1', answer: empty }] },
      }),
    );
    await expect(convertFile('drop', file)).rejects.toThrow(
      /drop\.json: passage p1, qa_pairs\[0\] \(query_id x1\): answer has no number, spans or date/,
    );
  });

  it('names line and column of a JSON syntax error', async () => {
    const file = await temporaryFile('syntax.json', '{\n "p1": {\n  "passage": "x",\n  oops\n }\n}\n');
    await expect(convertFile('drop', file)).rejects.toThrow(/syntax\.json: invalid JSON: .*line 4, column 3/);
  });
});

describe('hotpotqa converter', () => {
  it('builds the context from titled paragraphs and keeps type, level and supporting facts', async () => {
    const examples = await convertFile('hotpotqa', 'datasets/hotpotqa/fixture-dev.json');
    expect(examples).toHaveLength(3);
    const [nationality, protocol] = examples;
    expect(nationality?.context).toBe(
      'Scott Derrickson: Scott Derrickson (born July 16, 1966) is an American director. He lives in Los Angeles.' +
        '\n\nEd Wood: Edward Davis Wood Jr. (1924 \u2013 1978) was an American filmmaker.',
    );
    expect(nationality?.meta).toMatchObject({ type: 'comparison', level: 'hard' });
    expect(protocol?.meta?.supportingFacts).toHaveLength(3);
  });

  it('keeps yes/no answers as text that scores through yes/no normalization', async () => {
    const [nationality] = await convertFile('hotpotqa', 'datasets/hotpotqa/fixture-dev.json');
    if (nationality === undefined) throw new Error('fixture changed');
    expect(nationality).toMatchObject({ answer: 'yes', answerType: 'text' });
    expect(scoreAnswer('Yes, both were American.', nationality)).toMatchObject({
      correct: true,
      metric: 'yes-no',
    });
  });

  it('rejects a record without an answer, naming its index and id', async () => {
    const file = await temporaryFile(
      'hotpot.json',
      JSON.stringify([{ _id: 'abc', question: 'q?', context: [] }]),
    );
    await expect(convertFile('hotpotqa', file)).rejects.toThrow(/hotpot\.json: record 1 \(_id abc\): answer/);
  });
});

describe('bamboogle converter', () => {
  it('parses quoted CSV fields, including one spanning two lines', async () => {
    const examples = await convertFile('bamboogle', 'datasets/bamboogle/fixture-test.csv');
    expect(examples).toHaveLength(5);
    expect(examples[1]?.question).toBe(
      'What is the capital of the country where the "Mona Lisa" was painted?',
    );
    expect(examples[3]?.answer).toBe('1976');
    expect(examples[4]?.question).toContain('multi-line\nname');
    expect(examples.every((example) => example.answerType === 'text')).toBe(true);
  });

  it('rejects a missing Answer column and an empty answer with file:line', async () => {
    const noColumn = await temporaryFile('columns.csv', 'Question,Reply\nq?,a\n');
    await expect(convertFile('bamboogle', noColumn)).rejects.toThrow(
      /columns\.csv:1: the header has no "Answer"/,
    );
    const emptyAnswer = await temporaryFile('empty.csv', 'Question,Answer\nq1?,a\nq2?,\n');
    await expect(convertFile('bamboogle', emptyAnswer)).rejects.toThrow(/empty\.csv:3: Answer is empty/);
    const ragged = await temporaryFile('ragged.csv', 'Question,Answer\nq1?,a,extra\n');
    await expect(convertFile('bamboogle', ragged)).rejects.toThrow(/ragged\.csv:2: /);
  });
});

describe('strategyqa converter', () => {
  it('maps the boolean answer to yes/no and the decomposition to gold sub-questions', async () => {
    const examples = await convertFile('strategyqa', 'datasets/strategyqa/fixture-train.json');
    expect(examples.map((example) => example.answer)).toEqual(['no', 'yes', 'no']);
    expect(examples[1]?.gold?.subquestions).toEqual([
      'How many people today are related to Genghis Khan?',
      'How many people today are related to Julius Caesar?',
      'Is #1 greater than #2?',
    ]);
    expect(examples[2]?.gold).toBeUndefined();
    expect(examples[0]?.context).toBeUndefined();
  });

  it('rejects a string answer, naming the record', async () => {
    const file = await temporaryFile(
      'strategy.json',
      JSON.stringify([{ qid: 'q1', question: 'q?', answer: 'yes' }]),
    );
    await expect(convertFile('strategyqa', file)).rejects.toThrow(
      /strategy\.json: record 1 \(qid q1\): answer: must be true or false/,
    );
  });
});

describe('converter registry', () => {
  it('lists every valid format in the unknown-format error', () => {
    expect(() => getConverter('gsm9k')).toThrow(
      `unknown format 'gsm9k': choose one of ${formatNames.join(', ')}`,
    );
  });

  it('names a missing input file', async () => {
    await expect(convertFile('gsm8k', 'no/such/file.jsonl')).rejects.toThrow(
      /input file not found: no\/such\/file\.jsonl/,
    );
  });

  it('refuses two records with one id', async () => {
    const twice = { _id: 'same', question: 'q?', answer: 'a', context: [] };
    const file = await temporaryFile('twice.json', JSON.stringify([twice, twice]));
    await expect(convertFile('hotpotqa', file)).rejects.toThrow(/two records have the id 'same'/);
  });
});
