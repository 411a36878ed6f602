import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writePipeline } from '../pipeline/pipeline-fixture.js';
import { runCli } from '../helpers/cli.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

/** A pipeline without students: collection, filtering and an eval of reference chains only. */
const referenceOnly = {
  name: 'reference-only',
  datasets: [{ name: 'math-train', world: 'math', split: 'train', n: 5, seed: 1 }],
  teacher: 'reference',
  students: [],
  eval: {
    datasets: [{ name: 'math-test', world: 'math', split: 'test', n: 4, seed: 2 }],
    chains: [
      { name: 'single', solver: 'reference', mode: 'single' },
      { name: 'reference/reference', decomposer: 'reference', solver: 'reference', mode: 'static' },
    ],
  },
};

describe('dnc run', () => {
  it('prints stage progress on stderr and the paper table and report path on stdout', async () => {
    const { directory, file } = await writePipeline(referenceOnly);
    directories.push(directory);
    const runs = join(directory, 'runs');
    const result = await runCli(['run', file, '--runs', runs]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/\[1\/6\] data/);
    expect(result.stderr).toMatch(/\[6\/6\] eval/);
    expect(result.stderr).toMatch(/\[4\/6\] train\n {2}nothing to do in this pipeline/);
    expect(result.stdout).toMatch(/\| Chain +\| Decomposer \/ solver +\| Mode +\| math-test/);
    expect(result.stdout).toMatch(
      /\| reference\/reference †? *\| reference \/ reference +\| static +\| 100\.0/,
    );
    expect(result.stdout).toContain(join(runs, 'reference-only', 'eval', 'report.html'));
    expect(existsSync(join(runs, 'reference-only', 'run.json'))).toBe(true);
  }, 30_000);

  it('rejects a malformed pipeline with one line naming the key, before creating anything', async () => {
    const { directory, file } = await writePipeline({ ...referenceOnly, teachr: 'reference' });
    directories.push(directory);
    const runs = join(directory, 'runs');
    const result = await runCli(['run', file, '--runs', runs, '--json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^dnc: pipeline .*pipeline\.json: .*teachr/);
    expect(existsSync(runs)).toBe(false);
  }, 30_000);
});
