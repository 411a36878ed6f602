import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dnc-data-generate-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const generate = (world: string, seed: number, out: string, extra: string[] = []) =>
  runCli([
    'data',
    'generate',
    '--world',
    world,
    '--n',
    '200',
    '--seed',
    String(seed),
    '--split',
    'train',
    '--out',
    out,
    ...extra,
  ]);

describe('dnc data generate', () => {
  it('writes a byte-identical file for the same seed and prints one JSON object with --json', async () => {
    const first = join(directory, 'first.jsonl');
    const second = join(directory, 'second.jsonl');
    const result = await generate('math', 4, first, ['--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ world: 'math', split: 'train', seed: 4, n: 200, out: first });
    expect((await generate('math', 4, second)).code).toBe(0);
    const [a, b] = await Promise.all([readFile(first), readFile(second)]);
    expect(a.equals(b)).toBe(true);
    expect(a.toString('utf8').trim().split('\n')).toHaveLength(200);
  });

  it('writes different examples for a different seed', async () => {
    const first = join(directory, 'hops-1.jsonl');
    const second = join(directory, 'hops-2.jsonl');
    expect((await generate('hops', 1, first)).code).toBe(0);
    expect((await generate('hops', 2, second)).code).toBe(0);
    expect((await readFile(first, 'utf8')) === (await readFile(second, 'utf8'))).toBe(false);
  });

  it('rejects an unknown world with one line saying which worlds exist', async () => {
    const result = await generate('chess', 1, join(directory, 'x.jsonl'));
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--world must be one of hops, math/);
  });
});
