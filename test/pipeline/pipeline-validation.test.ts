import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors/user-error.js';
import { loadPipeline } from '../../src/pipeline/load-pipeline.js';
import { runPipeline } from '../../src/pipeline/run-pipeline.js';
import { nanoPipeline, writePipeline } from './pipeline-fixture.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

type Pipeline = ReturnType<typeof nanoPipeline> & Record<string, unknown>;

/** Runs a broken pipeline; it must fail with a UserError before creating the run directory. */
async function failure(edit: (pipeline: Pipeline) => void, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const pipeline = nanoPipeline('broken') as Pipeline;
  edit(pipeline);
  const { directory, file } = await writePipeline(pipeline);
  directories.push(directory);
  const runs = join(directory, 'runs');
  const error = await runPipeline({ file, runsDirectory: runs, env }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UserError);
  expect(existsSync(runs)).toBe(false);
  const message = (error as Error).message;
  expect(message).toContain(file);
  return message;
}

describe('a malformed pipeline fails before any work, naming the key or file', () => {
  it('an unknown top-level key', async () => {
    expect(await failure((pipeline) => (pipeline.studnets = []))).toMatch(/studnets/);
  });

  it('an unknown key inside a student', async () => {
    const message = await failure((pipeline) => {
      (pipeline.students as Record<string, unknown>[])[0]!.maxStep = 5;
    });
    expect(message).toMatch(/students\.0/);
    expect(message).toMatch(/maxStep/);
  });

  it('a wrong type', async () => {
    const message = await failure((pipeline) => {
      (pipeline.datasets as Record<string, unknown>[])[0]!.n = '100';
    });
    expect(message).toMatch(/datasets\.0\.n/);
    expect(message).toMatch(/number/);
  });

  it('a wrong filter value', async () => {
    const message = await failure((pipeline) => (pipeline.collect = { filter: 'best' }));
    expect(message).toMatch(/collect\.filter/);
  });

  it('a missing training dataset file', async () => {
    const message = await failure((pipeline) => {
      pipeline.datasets = [{ name: 'gsm8k-train', file: 'data/gsm8k/nowhere.jsonl', format: 'gsm8k' }];
    });
    expect(message).toMatch(/data\/gsm8k\/nowhere\.jsonl/);
    expect(message).toMatch(/datasets\[0\] "gsm8k-train"/);
  });

  it('a missing eval dataset file', async () => {
    const message = await failure((pipeline) => {
      (pipeline.eval as { datasets: unknown[] }).datasets.push({ name: 'extra', file: 'missing-eval.jsonl' });
    });
    expect(message).toMatch(/eval\.datasets\[2\] "extra".*missing-eval\.jsonl/);
  });

  it('an unknown student preset', async () => {
    const message = await failure((pipeline) => {
      (pipeline.students as Record<string, unknown>[])[1]!.preset = 'huge';
    });
    expect(message).toMatch(/students\[1\] "solver"\.preset/);
    expect(message).toMatch(/huge/);
  });

  it('a chain naming a student that does not exist, or in the wrong role', async () => {
    const unknown = await failure((pipeline) => {
      (pipeline.eval as { chains: Record<string, unknown>[] }).chains[2]!.decomposer = 'student:decomposr';
    });
    expect(unknown).toMatch(/eval\.chains\[2\] "student\/reference"\.decomposer.*student:decomposr/);
    const wrongRole = await failure((pipeline) => {
      (pipeline.eval as { chains: Record<string, unknown>[] }).chains[2]!.decomposer = 'student:solver';
    });
    expect(wrongRole).toMatch(/trained as a solver/);
  });

  it('a remote teacher without an endpoint or key', async () => {
    const message = await failure((pipeline) => (pipeline.teacher = 'openai:gpt-4o-mini'));
    expect(message).toMatch(/OPENAI_API_KEY/);
  });

  it('invalid JSON and a missing pipeline file', async () => {
    const { directory, file } = await writePipeline({});
    directories.push(directory);
    await writeFile(file, '{ "name": "x", ');
    await expect(loadPipeline(file)).rejects.toThrow(/invalid JSON/);
    await expect(loadPipeline(join(directory, 'absent.json'))).rejects.toThrow(/pipeline file not found/);
  });

  it('accepts the pipelines the project ships', async () => {
    for (const name of ['quickstart', 'gsm8k-openai', 'hotpotqa-openai']) {
      const file = join('pipelines', `${name}.json`);
      const env = { OPENAI_API_KEY: 'test' };
      const loaded = await loadPipeline(file, { env }).catch((error: unknown) => error as Error);
      if (name === 'quickstart') expect(loaded).not.toBeInstanceOf(Error);
      // The real-teacher pipelines read files the user downloads; only their absence may fail.
      else if (loaded instanceof Error) expect(loaded.message).toMatch(/dataset file not found: data\//);
    }
  });
});
