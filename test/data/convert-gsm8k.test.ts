import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertFile, convertFileWithSummary, describeConversion } from '../../src/data/convert/index.js';
import { exampleSchema } from '../../src/data/schemas.js';

async function temporaryFile(name: string, content: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'dnc-convert-')), name);
  await writeFile(file, content);
  return file;
}

const line = (question: string, answer: string): string => JSON.stringify({ question, answer });

describe('gsm8k converter', () => {
  it('converts the fixture into valid number Examples with canonical answers', async () => {
    const examples = await convertFile('gsm8k', 'datasets/gsm8k/fixture-test.jsonl');
    expect(examples).toHaveLength(5);
    for (const example of examples) expect(exampleSchema.safeParse(example).success).toBe(true);
    expect(examples.map((example) => example.answer)).toEqual(['18', '70000', '-7', '10.5', '8']);
    expect(examples[1]?.meta?.rawAnswer).toBe('70,000');
    expect(examples.every((example) => example.answerType === 'number' && example.gold === undefined)).toBe(
      true,
    );
  });

  it('strips calculator annotations from the kept solution but keeps their results', async () => {
    const [first] = await convertFile('gsm8k', 'datasets/gsm8k/fixture-test.jsonl');
    expect(first?.meta?.solution).toBe(
      'Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day at the farmer\u2019s market.',
    );
    expect(first?.id).toBe('gsm8k-fixture-test-1');
  });

  it('rejects an answer without "#### N", naming file and line', async () => {
    const file = await temporaryFile(
      'bad.jsonl',
      `${line('q?', 'a\n#### 1')}\n${line('q?', 'no final line')}\n`,
    );
    await expect(convertFile('gsm8k', file)).rejects.toThrow(
      /bad\.jsonl:2: answer does not end with a line "#### N"/,
    );
  });

  it('rejects a final answer that is not a number', async () => {
    const file = await temporaryFile('word.jsonl', `${line('q?', 'so\n#### many')}\n`);
    await expect(convertFile('gsm8k', file)).rejects.toThrow(
      /word\.jsonl:1: final answer "#### many" is not a number/,
    );
  });

  it('rejects malformed JSON and a wrong field type with file:line', async () => {
    const broken = await temporaryFile(
      'broken.jsonl',
      `${line('q?', '#### 1')}\n{"question": "q?", "answer": \n`,
    );
    await expect(convertFile('gsm8k', broken)).rejects.toThrow(/broken\.jsonl:2: invalid JSON/);
    const typed = await temporaryFile('typed.jsonl', `${JSON.stringify({ question: 'q?', answer: 18 })}\n`);
    await expect(convertFile('gsm8k', typed)).rejects.toThrow(/typed\.jsonl:1: answer: .*expected string/);
  });
});

describe('gsm8k-socratic converter', () => {
  it('turns every step into a gold sub-question and a sub-answer without annotations', async () => {
    const examples = await convertFile('gsm8k-socratic', 'datasets/gsm8k-socratic/fixture-test.jsonl');
    expect(examples).toHaveLength(6);
    expect(examples.every((example) => (example.gold?.subquestions.length ?? 0) > 0)).toBe(true);
    const [first, second, third] = examples;
    expect(first?.gold).toEqual({
      subquestions: ['How many eggs does Janet sell?', "How much does Janet make at the farmers' market?"],
      subanswers: [
        'Janet sells 16 - 3 - 4 = 9 duck eggs a day.',
        'She makes 9 * 2 = $18 every day at the farmer\u2019s market.',
      ],
    });
    expect(second?.gold?.subquestions).toHaveLength(4);
    expect(second?.answer).toBe('70000');
    expect(first?.dataset).toBe('gsm8k-socratic');
    // The answer text may contain `**` (an exponent); only the first one separates.
    expect(third?.gold?.subanswers).toEqual(['2 cubed is 2**3 = 8 tiles.']);
  });

  it('accepts imperative steps and a final answer with a thousands separator', async () => {
    const examples = await convertFile('gsm8k-socratic', 'datasets/gsm8k-socratic/fixture-test.jsonl');
    const [equation, factory] = examples.slice(4);
    expect(equation?.gold?.subquestions[0]).toBe('Define a variable');
    expect(equation?.gold?.subanswers?.[3]).toBe('x=20');
    expect(factory).toMatchObject({ answer: '14000', meta: { rawAnswer: '14,000' } });
  });

  it('points a plain GSM8K file to --format gsm8k', async () => {
    await expect(convertFile('gsm8k-socratic', 'datasets/gsm8k/fixture-test.jsonl')).rejects.toThrow(
      /fixture-test\.jsonl:1: step 1 has no "\*\*".*use --format gsm8k/,
    );
  });
});

describe('gsm8k-socratic converter on unclean records', () => {
  it('converts real test_socratic.jsonl records, keeping a repeated sub-question that is answered twice', async () => {
    const { examples, summary } = await convertFileWithSummary(
      'gsm8k-socratic',
      'datasets/gsm8k-socratic/fixture-real-test.jsonl',
    );
    expect(summary).toEqual({ recordsRead: 7, converted: 7, recordsDropped: {}, stepsDropped: {} });
    const downloads = examples[1]?.gold;
    expect(downloads?.subquestions.filter((text) => text.includes('third month'))).toHaveLength(2);
    expect(downloads?.subanswers?.[3]).toBe('There were 180-54 = 126 downloads in the third month.');
    // `<<40=40>>40` keeps its result; `$<<1150*50=57500>>57,500` keeps the published comma.
    expect(examples[3]?.gold?.subanswers?.[4]).toBe('x=40');
    expect(examples[2]?.gold?.subanswers?.[3]).toMatch(/= \$57,500$/);
    expect(examples[4]).toMatchObject({ answer: '16', gold: { subquestions: expect.any(Array) } });
    expect(examples[5]).toMatchObject({ answer: '2125', meta: { rawAnswer: '2,125' } });
    expect(examples[6]?.gold?.subanswers?.[1]).toBe('The number of wins is L + 8.');
  });

  it('drops empty steps and unusable records, counting each by reason, and converts the rest', async () => {
    const { examples, summary } = await convertFileWithSummary(
      'gsm8k-socratic',
      'datasets/gsm8k-socratic/fixture-unclean.jsonl',
    );
    expect(summary).toEqual({
      recordsRead: 7,
      converted: 4,
      recordsDropped: { 'no-final-answer': 1, 'no-steps': 1, 'final-answer-not-a-number': 1 },
      stepsDropped: { 'empty-answer': 4, 'empty-subquestion': 1, 'no-separator': 1 },
    });
    const [pens, eggs, powers, rope] = examples;
    // The empty step is gone; the same sub-question answered on the next line stays, once.
    expect(pens?.gold).toEqual({
      subquestions: ['How many pens does Sam have?', 'How many pens are left?'],
      subanswers: ['Sam has 3*12=36 pens.', '36-10=26 pens are left.'],
    });
    // An answer that is only a calculator annotation without its result is empty too.
    expect(eggs?.gold?.subquestions).toEqual(['How many eggs a day?', 'How many eggs in a week?']);
    expect(eggs).toMatchObject({ answer: '16800', meta: { rawAnswer: '16,800' } });
    // `**` without spaces is an exponent, in the sub-question as in the answer.
    expect(powers?.gold?.subquestions.slice(0, 2)).toEqual(['What is 2**3?', 'What is 2**2?']);
    expect(powers?.gold?.subanswers?.[0]).toBe('2**3=8');
    expect(rope?.gold).toEqual({ subquestions: ['How long is each part?'], subanswers: ['7.5/3=2.5 m'] });
    expect(rope?.answer).toBe('2.5');
    expect(examples.map((example) => example.meta?.source)).toEqual([
      { file: 'fixture-unclean', line: 1 },
      { file: 'fixture-unclean', line: 2 },
      { file: 'fixture-unclean', line: 3 },
      { file: 'fixture-unclean', line: 6 },
    ]);
  });

  it('describes the drops in one line', async () => {
    const { summary } = await convertFileWithSummary(
      'gsm8k-socratic',
      'datasets/gsm8k-socratic/fixture-unclean.jsonl',
    );
    expect(describeConversion(summary)).toBe(
      'read 7 records, converted 4; dropped records: no-final-answer 1, no-steps 1, final-answer-not-a-number 1; ' +
        'dropped steps: empty-answer 4, empty-subquestion 1, no-separator 1',
    );
  });

  it('takes a "**" right after a question mark for the separator', async () => {
    const file = await temporaryFile(
      'tight.jsonl',
      `${line('q?', 'How many?** 2**2=<<2**2=4>>4\n#### 4')}\n`,
    );
    const [example] = await convertFile('gsm8k-socratic', file);
    expect(example?.gold).toEqual({ subquestions: ['How many?'], subanswers: ['2**2=4'] });
  });

  it('still stops on a record that is not the published shape', async () => {
    const file = await temporaryFile('typed.jsonl', `${line('q?', 'a? ** 1\n#### 1')}\n{"question": 3}\n`);
    await expect(convertFile('gsm8k-socratic', file)).rejects.toThrow(/typed\.jsonl:2: question: /);
  });
});
