import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunManifest } from '../../src/pipeline/run-manifest.js';
import { dncBin, repoRoot, runCli } from '../helpers/cli.js';
import { nanoPipeline, writePipeline } from './pipeline-fixture.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function checkpoints(trainDirectory: string): Promise<string[]> {
  const names = await readdir(join(trainDirectory, 'checkpoints')).catch(() => [] as string[]);
  return names.filter((name) => /^step-\d{8}$/.test(name));
}

/** Starts `dnc run` and SIGKILLs it as soon as the student has written its first checkpoint. */
async function killDuringTraining(file: string, runs: string, trainDirectory: string): Promise<void> {
  const child = spawn(process.execPath, [dncBin, 'run', file, '--runs', runs], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let finished = false;
  void exited.then(() => (finished = true));
  const deadline = Date.now() + 60_000;
  while ((await checkpoints(trainDirectory)).length === 0) {
    if (finished) throw new Error(`dnc run ended before a checkpoint was written:\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`no checkpoint within 60 s:\n${stderr}`);
    await delay(25);
  }
  child.kill('SIGKILL');
  await exited;
}

describe('dnc run killed during training', () => {
  it('resumes from the last checkpoint without redoing collection', async () => {
    const pipeline = nanoPipeline('nano-killed');
    delete (pipeline as { eval?: unknown }).eval;
    pipeline.students = [
      {
        name: 'decomposer',
        role: 'decomposer',
        preset: 'nano',
        maxSteps: 100,
        batchSize: 2,
        checkpointEvery: 5,
        sequenceLength: 256,
        allowSmallData: true,
      },
    ];
    const { directory, file } = await writePipeline(pipeline);
    directories.push(directory);
    const runs = join(directory, 'runs');
    const run = join(runs, 'nano-killed');
    const trainDirectory = join(run, 'train', 'decomposer');

    await killDuringTraining(file, runs, trainDirectory);
    const killed = (await readRunManifest(join(run, 'run.json')))!;
    expect(killed.stages.collect.status).toBe('done');
    expect(killed.stages.train.units.decomposer?.status).toBe('running');
    const journals = {
      decompositions: await readFile(join(run, 'collect/decompositions.jsonl'), 'utf8'),
      solutions: await readFile(join(run, 'collect/solutions.jsonl'), 'utf8'),
    };
    const savedSteps = (await checkpoints(trainDirectory)).map((name) => Number(name.slice('step-'.length)));
    const lastSaved = Math.max(...savedSteps);

    const rerun = await runCli(['run', file, '--runs', runs, '--json'], { timeoutMs: 90_000 });
    expect(rerun.code, rerun.stderr).toBe(0);
    const result = JSON.parse(rerun.stdout) as {
      run: string;
      stages: Record<
        string,
        { action: string; spentUsd: number; units: Record<string, { summary: Record<string, unknown> }> }
      >;
      report: unknown;
    };
    expect(result.run).toBe(run);
    expect(result.report).toBeNull();
    for (const stage of ['data', 'collect', 'filter'])
      expect(result.stages[stage]?.action, stage).toBe('skipped');
    expect(result.stages.collect?.spentUsd).toBe(0);
    expect(result.stages.train?.action).toBe('resumed');
    const summary = result.stages.train!.units.decomposer!.summary;
    expect(summary.resumedFromStep).toBeGreaterThanOrEqual(lastSaved);
    expect(summary.resumedFromStep).toBeGreaterThan(0);
    expect(summary.steps).toBe(100);
    expect(result.stages.export?.action).toBe('ran');
    // Collection was neither repeated nor extended: the journals are byte for byte the same.
    expect(await readFile(join(run, 'collect/decompositions.jsonl'), 'utf8')).toBe(journals.decompositions);
    expect(await readFile(join(run, 'collect/solutions.jsonl'), 'utf8')).toBe(journals.solutions);
    const finished = (await readRunManifest(join(run, 'run.json')))!;
    expect(finished.stages.train.units.decomposer?.status).toBe('done');
  }, 120_000);
});
