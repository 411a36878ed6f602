import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pipelineSchema } from '../../src/pipeline/pipeline-schema.js';
import { readTrainingLog } from '../../src/train/training-log.js';
import { runCli } from '../helpers/cli.js';
import { nanoTrainArgs, runUntilCheckpoint } from '../helpers/train-runs.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

let root: string;
let dataFile: string;

const args = (out: string, ...extra: string[]): string[] =>
  nanoTrainArgs({ data: dataFile, out, maxSteps: 25, checkpointEvery: 25, extra });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-train-deterministic-'));
  dataFile = join(root, 'train.jsonl');
  await writeChats(dataFile, decomposerChats(40, 5));
});

describe('dnc train --deterministic', () => {
  it('two runs give the same loss curve bit for bit and the same weights', async () => {
    const first = await runCli(args(join(root, 'first'), '--deterministic'));
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(args(join(root, 'second'), '--deterministic'));
    expect(second.code, second.stderr).toBe(0);
    const losses = async (name: string) =>
      (await readTrainingLog(join(root, name, 'train-log.jsonl'))).map((entry) =>
        'loss' in entry ? entry.loss : entry.validationLoss,
      );
    const curve = await losses('first');
    expect(curve.length).toBeGreaterThan(25);
    expect(await losses('second')).toEqual(curve); // toEqual on numbers: exact, not close
    expect(await readFile(join(root, 'second', 'model.safetensors'))).toEqual(
      await readFile(join(root, 'first', 'model.safetensors')),
    );
    const student = JSON.parse(await readFile(join(root, 'first', 'student.json'), 'utf8'));
    expect(JSON.stringify(student)).toMatch(/"deterministic":true/);
  }, 120_000);

  it('--data-parallel 2 repeats bit for bit without --deterministic, close to the one-session run', async () => {
    const stderr = new Map<string, string>();
    for (const name of ['parallel-first', 'parallel-second', 'one-session']) {
      const extra = name === 'one-session' ? ['--deterministic'] : ['--data-parallel', '2'];
      const result = await runCli(args(join(root, name), ...extra));
      expect(result.code, result.stderr).toBe(0);
      stderr.set(name, result.stderr);
    }
    const curve = async (name: string) => {
      const log = await readTrainingLog(join(root, name, 'train-log.jsonl'));
      return log.map((entry) => ('loss' in entry ? entry.loss : entry.validationLoss));
    };
    const parallel = await curve('parallel-first');
    expect(await curve('parallel-second')).toEqual(parallel); // exact
    expect(await readFile(join(root, 'parallel-second', 'model.safetensors'))).toEqual(
      await readFile(join(root, 'parallel-first', 'model.safetensors')),
    );
    // The same updates up to float rounding (two micro-batches summed instead of one batch).
    const oneSession = await curve('one-session');
    parallel.forEach((loss, index) => expect(Math.abs(loss - oneSession[index]!)).toBeLessThan(1e-3));
    const student = JSON.parse(await readFile(join(root, 'parallel-first', 'student.json'), 'utf8'));
    expect(JSON.stringify(student)).toMatch(/"dataParallel":2/);
    expect(stderr.get('parallel-first')).toContain('(2 micro-batches of 2) on 2 data-parallel workers');
  }, 120_000);

  it('--data-parallel 2 killed after a checkpoint resumes to the same curve and weights', async () => {
    const parallel = (out: string, ...extra: string[]) =>
      args(join(root, out), '--data-parallel', '2', '--checkpoint-every', '10', ...extra);
    const whole = await runCli(parallel('parallel-whole'));
    expect(whole.code, whole.stderr).toBe(0);
    const killed = await runUntilCheckpoint(parallel('parallel-killed'), join(root, 'parallel-killed'), 10);
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await runCli(parallel('parallel-killed', '--resume'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).resumedFromStep).toBeGreaterThanOrEqual(10);
    const losses = async (name: string) =>
      (await readTrainingLog(join(root, name, 'train-log.jsonl'))).map((entry) =>
        'loss' in entry ? entry.loss : entry.validationLoss,
      );
    expect(await losses('parallel-killed')).toEqual(await losses('parallel-whole'));
    expect(await readFile(join(root, 'parallel-killed', 'model.safetensors'))).toEqual(
      await readFile(join(root, 'parallel-whole', 'model.safetensors')),
    );
  }, 120_000);

  it('refuses a --data-parallel that does not divide the batch, or with --threads, in one line', async () => {
    const result = await runCli(args(join(root, 'parallel-3'), '--data-parallel', '3', '--batch-size', '4'));
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--data-parallel 3 must divide --batch-size 4/);
    const threads = await runCli(
      args(join(root, 'parallel-threads'), '--data-parallel', '2', '--threads', '2'),
    );
    expect(threads.code).not.toBe(0);
    expect(threads.stderr.trim().split('\n')).toHaveLength(1);
    expect(threads.stderr).toMatch(
      /--data-parallel runs each worker on one onnxruntime thread; drop --threads 2/,
    );
  });

  it('refuses --threads above 1 with it, in one line; the pipeline takes it per student', async () => {
    const result = await runCli(args(join(root, 'threads'), '--deterministic', '--threads', '2'));
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--deterministic runs onnxruntime on one thread; drop --threads 2/);
    const pipeline = {
      name: 'p',
      datasets: [{ name: 'h', world: 'hops', split: 'train', n: 4, seed: 1 }],
      teacher: 'reference',
      students: [{ name: 's', role: 'decomposer', preset: 'nano', deterministic: true }],
    };
    expect(pipelineSchema.parse(pipeline).students[0]).toMatchObject({ deterministic: true });
    expect(
      pipelineSchema.safeParse({ ...pipeline, students: [{ ...pipeline.students[0], deterministic: 'yes' }] })
        .success,
    ).toBe(false);
  });
});
