import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChatExample } from '../../src/data/schemas.js';
import { rareNames, renamedCopies } from '../../src/train/name-copies.js';
import { prepareRun } from '../../src/train/prepare-run.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

const chat = (question: string, answer: string): ChatExample => ({
  messages: [
    { role: 'user', content: `Question: ${question}` },
    { role: 'assistant', content: answer },
  ],
});

// 200 questions: "Question", "How", "Holdings" in all of them; each person's name in one.
const examples = Array.from({ length: 200 }, (_, index) => {
  const [first, second] = [`Finzel${'a'.repeat(index % 7)}x${index}`, `Trisou${index}`].map((name) =>
    name.replace(/\d+/g, (digits) => String.fromCharCode(...[...digits].map((digit) => 97 + Number(digit)))),
  );
  return chat(
    `${first} has 41 cars. ${second} of Kraihund Holdings has 4 more cars than ${first}. How many in all?`,
    `1. How many cars does ${second} have?\n2. How many cars do ${first} and ${second} have together?`,
  );
});

describe('renamed copies', () => {
  it('takes the capitalized words of under 1% of the questions as names', () => {
    const names = rareNames(examples);
    expect(names.has('Question')).toBe(false);
    expect(names.has('How')).toBe(false);
    expect(names.has('Holdings')).toBe(false);
    expect(names.has('Kraihund')).toBe(false); // in every question: part of the template here
    expect(names.size).toBe(400);
  });

  it('in a small set, takes the words of one question alone as names', () => {
    const few = [
      chat('Where was Holgo born?', '1. Where was Holgo born?'),
      chat('Where was Vel born?', 'No.'),
    ];
    expect([...rareNames(few)].sort()).toEqual(['Holgo', 'Vel']);
  });

  it('renames each name the same way in the question and the answer, and nothing else', () => {
    const [copy] = renamedCopies(examples, 1, 7).map((example) =>
      example.messages.map((message) => message.content),
    );
    const [question, answer] = copy as [string, string];
    const original = examples[0]!.messages.map((message) => message.content);
    const [first, second] = (original[0] as string).match(
      /(?<=Question: )\w+|\w+(?= of Kraihund)/g,
    ) as string[];
    const [newFirst, newSecond] = question.match(/(?<=Question: )\w+|\w+(?= of Kraihund)/g) as string[];
    expect([newFirst, newSecond]).not.toContain(first);
    expect(newFirst).not.toBe(newSecond);
    expect(question).toBe(
      (original[0] as string)
        .replaceAll(first as string, newFirst as string)
        .replaceAll(second as string, newSecond as string),
    );
    expect(answer).toBe(
      (original[1] as string)
        .replaceAll(first as string, newFirst as string)
        .replaceAll(second as string, newSecond as string),
    );
  });

  it('makes the asked number of copies, the same for the same seed and different for another', () => {
    expect(renamedCopies(examples, 0, 1)).toEqual([]);
    expect(renamedCopies(examples, 2, 1)).toHaveLength(400);
    expect(renamedCopies(examples, 1, 1)).toEqual(renamedCopies(examples, 1, 1));
    expect(renamedCopies(examples, 1, 1)).not.toEqual(renamedCopies(examples, 1, 2));
  });
});

describe('a training run with nameCopies', () => {
  it('trains on the examples and their renamed copies, and validates on the examples alone', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dnc-name-copies-'));
    const dataFile = join(root, 'train.jsonl');
    await writeChats(dataFile, decomposerChats(120, 4));
    const run = (out: string, nameCopies?: number) =>
      prepareRun({
        dataFile,
        role: 'decomposer',
        preset: 'nano',
        resume: false,
        outDirectory: join(root, out),
        overrides: { promptFormat: 'compact', nameCopies },
      });
    const [plain, copied] = [await run('plain'), await run('copied', 2)];
    expect(copied.settings.nameCopies).toBe(2);
    expect(copied.train.documents).toHaveLength(3 * plain.train.documents.length);
    expect(copied.validation.documents).toEqual(plain.validation.documents);
    const decode = (ids: readonly number[]) => copied.tokenizer.decode(ids, { skipSpecialTokens: true });
    const count = plain.train.documents.length;
    const [original, renamed] = [0, count].map((index) => decode(copied.train.documents[index]!.inputIds));
    expect(renamed).not.toBe(original);
    expect(renamed.replace(/\p{Lu}\p{L}+/gu, 'N')).toBe(original.replace(/\p{Lu}\p{L}+/gu, 'N'));
  });
});
