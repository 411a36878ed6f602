import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

async function temporaryDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dnc-cli-data-'));
}

describe('dnc data convert and stats', () => {
  it('converts a socratic fixture, then reports its stats as one JSON object', async () => {
    const out = join(await temporaryDirectory(), 'socratic.jsonl');
    const input = 'datasets/gsm8k-socratic/fixture-test.jsonl';
    const converted = await runCli([
      'data',
      'convert',
      '--format',
      'gsm8k-socratic',
      '--in',
      input,
      '--out',
      out,
      '--json',
    ]);
    expect(converted.code).toBe(0);
    expect(JSON.parse(converted.stdout)).toEqual({
      format: 'gsm8k-socratic',
      in: input,
      out,
      count: 6,
      recordsRead: 6,
      converted: 6,
      recordsDropped: {},
      stepsDropped: {},
    });
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(6);

    const stats = await runCli(['data', 'stats', out, '--json']);
    expect(stats.code).toBe(0);
    const parsed = JSON.parse(stats.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      count: 6,
      answerTypes: { number: 6 },
      withGold: 6,
      meanSubquestions: 3,
    });

    const human = await runCli(['data', 'stats', out]);
    expect(human.stdout).toMatch(/with gold\s+6/);
  });

  it('prints a one-line summary without --json', async () => {
    const out = join(await temporaryDirectory(), 'drop.jsonl');
    const result = await runCli([
      'data',
      'convert',
      '--format',
      'drop',
      '--in',
      'datasets/drop/fixture-dev.json',
      '--out',
      out,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      `converted 5 examples (drop) from datasets/drop/fixture-dev.json to ${out}`,
    ]);
  });

  it('converts an unclean socratic file whole and says what it dropped, on stderr and in --json', async () => {
    const out = join(await temporaryDirectory(), 'unclean.jsonl');
    const input = 'datasets/gsm8k-socratic/fixture-unclean.jsonl';
    const args = ['data', 'convert', '--format', 'gsm8k-socratic', '--in', input, '--out', out];
    const result = await runCli([...args, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      count: 4,
      recordsRead: 7,
      stepsDropped: { 'empty-answer': 4 },
    });
    expect(result.stderr).toContain('read 7 records, converted 4; dropped records: no-final-answer 1');
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(4);
  });

  it('rejects an unknown format with one line listing the valid ones', async () => {
    const result = await runCli([
      'data',
      'convert',
      '--format',
      'gsm9k',
      '--in',
      'x.jsonl',
      '--out',
      'y.jsonl',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      "dnc: unknown format 'gsm9k': choose one of gsm8k, gsm8k-socratic, drop, hotpotqa, bamboogle, strategyqa",
    ]);
  });

  it('names a missing input file in one line', async () => {
    const out = join(await temporaryDirectory(), 'never.jsonl');
    const result = await runCli([
      'data',
      'convert',
      '--format',
      'gsm8k',
      '--in',
      'missing/test.jsonl',
      '--out',
      out,
    ]);
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dnc: input file not found: missing\/test\.jsonl/);
  });

  it('names file:line of a malformed line and writes nothing', async () => {
    const directory = await temporaryDirectory();
    const input = join(directory, 'test.jsonl');
    const out = join(directory, 'out.jsonl');
    await writeFile(
      input,
      `${JSON.stringify({ question: 'q?', answer: 'a\n#### 3' })}\n{"question": "q?",\n`,
    );
    const result = await runCli(['data', 'convert', '--format', 'gsm8k', '--in', input, '--out', out]);
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${input}:2: invalid JSON`);
    await expect(readFile(out, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('tells stats users to convert a published file first', async () => {
    const result = await runCli(['data', 'stats', 'datasets/gsm8k/fixture-test.jsonl']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/fixture-test\.jsonl:1: .*convert a published file first/);
  });
});
