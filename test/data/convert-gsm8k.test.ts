import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertFile } from '../../src/data/convert/index.js';
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

  it('rejects an empty sub-question', async () => {
    const file = await temporaryFile('empty.jsonl', `${line('q?', ' ** 1+1=<<1+1=2>>2\n#### 2')}\n`);
    await expect(convertFile('gsm8k-socratic', file)).rejects.toThrow(
      /empty\.jsonl:1: step 1 has an empty sub-question/,
    );
  });
});
