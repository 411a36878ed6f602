import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatExampleSchema } from '../../src/data/schemas.js';
import { generateExamples } from '../../src/worlds/index.js';
import { runCli } from '../helpers/cli.js';

let directory: string;
let data: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dnc-collect-cli-'));
  data = join(directory, 'data.jsonl');
  const examples = generateExamples({ world: 'math', n: 6, seed: 9, split: 'train' });
  await writeFile(data, examples.map((example) => JSON.stringify(example)).join('\n') + '\n');
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('dnc collect', () => {
  it('collects from the reference teacher, prints one JSON summary, shows progress and resumes from cache', async () => {
    const out = join(directory, 'ref');
    const first = await runCli([
      'collect',
      '--data',
      data,
      '--teacher',
      'reference',
      '--out',
      out,
      '--json',
      '--progress',
      '--filter',
      'correct',
    ]);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      total: 6,
      ok: 6,
      invalid: 0,
      error: 0,
      skippedCached: 0,
      requests: 12,
      savedUsd: 0,
      simulated: true,
    });
    expect(summary.costUsd).toBeGreaterThan(0);
    expect(first.stderr).toMatch(/collect 6\/6 .*\/s .*took .*\$ 0\.\d{4}/);
    const training = (await readFile(join(out, 'train-decomposer.jsonl'), 'utf8')).trim().split('\n');
    expect(training).toHaveLength(6);
    for (const line of training) expect(chatExampleSchema.safeParse(JSON.parse(line)).success).toBe(true);

    const again = await runCli([
      'collect',
      '--data',
      data,
      '--teacher',
      'reference',
      '--out',
      out,
      '--json',
      '--filter',
      'correct',
    ]);
    const cached = JSON.parse(again.stdout) as Record<string, number>;
    expect(cached).toMatchObject({ ok: 6, skippedCached: 12, requests: 0, costUsd: 0 });
    expect(cached.savedUsd).toBeCloseTo(summary.costUsd as number, 12);
  });

  it('explains a bad teacher spec', async () => {
    const badTeacher = await runCli([
      'collect',
      '--data',
      data,
      '--teacher',
      'gpt4',
      '--out',
      join(directory, 'x'),
    ]);
    expect(badTeacher.code).not.toBe(0);
    expect(badTeacher.stderr).toContain(
      "unknown teacher 'gpt4': use reference, gold, replay:FILE or openai:MODEL",
    );
  });
});
