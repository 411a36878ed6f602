import { mkdtemp, readFile, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlError, openJournal, readJsonlAll, writeJsonlAtomic } from '../../src/data/jsonl.js';
import { chatExampleSchema, exampleSchema } from '../../src/data/schemas.js';

const example = { id: 'a', dataset: 'd', question: 'q?', answer: '3.5', answerType: 'number' as const };

async function temporaryDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dnc-jsonl-'));
}

describe('readJsonl', () => {
  it('reads valid records and skips blank lines', async () => {
    const file = join(await temporaryDirectory(), 'a.jsonl');
    await writeFile(file, `${JSON.stringify(example)}\n\n${JSON.stringify({ ...example, id: 'b' })}\n`);
    const records = await readJsonlAll(file, exampleSchema);
    expect(records.map((record) => record.id)).toEqual(['a', 'b']);
  });

  it('names the file and line of malformed JSON', async () => {
    const file = join(await temporaryDirectory(), 'bad.jsonl');
    await writeFile(file, `${JSON.stringify(example)}\n{"id": oops}\n`);
    await expect(readJsonlAll(file, exampleSchema)).rejects.toThrow(/bad\.jsonl:2: invalid JSON/);
  });

  it('names the field with the wrong type', async () => {
    const file = join(await temporaryDirectory(), 'type.jsonl');
    await writeFile(file, `${JSON.stringify({ ...example, answerType: 'float' })}\n`);
    const error = await readJsonlAll(file, exampleSchema).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JsonlError);
    expect((error as JsonlError).line).toBe(1);
    expect((error as Error).message).toMatch(/type\.jsonl:1: answerType:/);
  });

  it('rejects unknown keys instead of dropping them', async () => {
    const file = join(await temporaryDirectory(), 'extra.jsonl');
    await writeFile(file, `${JSON.stringify({ ...example, questoin: 'typo' })}\n`);
    await expect(readJsonlAll(file, exampleSchema)).rejects.toThrow(/questoin/);
  });

  it('says when the file is missing', async () => {
    await expect(readJsonlAll('/nonexistent/x.jsonl', exampleSchema)).rejects.toThrow(
      /not found: \/nonexistent\/x\.jsonl/,
    );
  });

  it('rejects a chat example without an assistant message', async () => {
    const file = join(await temporaryDirectory(), 'chat.jsonl');
    await writeFile(file, `${JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })}\n`);
    await expect(readJsonlAll(file, chatExampleSchema)).rejects.toThrow(/assistant message/);
  });
});

describe('writeJsonlAtomic', () => {
  it('round-trips records', async () => {
    const file = join(await temporaryDirectory(), 'out', 'w.jsonl');
    await writeJsonlAtomic(file, [example, { ...example, id: 'c' }], exampleSchema);
    expect(await readJsonlAll(file, exampleSchema)).toEqual([example, { ...example, id: 'c' }]);
  });

  it('refuses an invalid record and leaves no file behind', async () => {
    const file = join(await temporaryDirectory(), 'w.jsonl');
    await expect(writeJsonlAtomic(file, [{ ...example, id: '' }], exampleSchema)).rejects.toThrow(/record 1/);
    await expect(readFile(file)).rejects.toThrow();
  });
});

describe('openJournal', () => {
  it('persists appends and reads them back on reopen', async () => {
    const file = join(await temporaryDirectory(), 'j.jsonl');
    const journal = await openJournal(file, exampleSchema);
    await Promise.all(['1', '2', '3'].map((id) => journal.append({ ...example, id })));
    await journal.close();
    const reopened = await openJournal(file, exampleSchema);
    expect(reopened.existing.map((record) => record.id).sort()).toEqual(['1', '2', '3']);
    await reopened.close();
  });

  it('cuts off a torn final line left by a crash and keeps every complete line', async () => {
    const file = join(await temporaryDirectory(), 'torn.jsonl');
    await writeFile(file, `${JSON.stringify(example)}\n{"id":"b","datas`);
    const journal = await openJournal(file, exampleSchema);
    expect(journal.repairedTornLine).toBe(true);
    expect(journal.existing).toHaveLength(1);
    await journal.append({ ...example, id: 'c' });
    await journal.close();
    expect(await readJsonlAll(file, exampleSchema)).toHaveLength(2);
  });

  it('fails on a corrupt line in the middle rather than dropping it', async () => {
    const file = join(await temporaryDirectory(), 'mid.jsonl');
    await writeFile(file, `garbage\n${JSON.stringify(example)}\n`);
    await expect(openJournal(file, exampleSchema)).rejects.toThrow(/mid\.jsonl:1/);
  });

  it('keeps a complete final line that lacks its newline', async () => {
    const file = join(await temporaryDirectory(), 'nonl.jsonl');
    await writeFile(file, JSON.stringify(example));
    const journal = await openJournal(file, exampleSchema);
    await journal.append({ ...example, id: 'z' });
    await journal.close();
    await appendFile(file, '');
    expect((await readJsonlAll(file, exampleSchema)).map((record) => record.id)).toEqual(['a', 'z']);
  });
});
