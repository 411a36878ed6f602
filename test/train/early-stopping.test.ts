import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/student/safetensors.js';
import { patienceExhausted, recordValidation } from '../../src/train/early-stopping.js';
import { trainStudent, type TrainOptions, type TrainSummary } from '../../src/train/train-loop.js';
import { checkpointDirectoryOf, readTrainingCheckpoint } from '../../src/train/training-checkpoint.js';
import { readTrainingLog } from '../../src/train/training-log.js';
import { dncBin, repoRoot, runCli } from '../helpers/cli.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

describe('recordValidation', () => {
  it('keeps the lowest loss and its step, and counts validations that do not beat it by minDelta', () => {
    const progress = { bestValidationLoss: null, bestStep: null, evaluationsWithoutImprovement: 0 };
    expect(recordValidation(progress, 3, 10, 0.01)).toBe(true);
    // A new best by less than minDelta: exported if nothing beats it, but no reason to go on.
    expect(recordValidation(progress, 2.995, 20, 0.01)).toBe(true);
    expect(progress).toEqual({ bestValidationLoss: 2.995, bestStep: 20, evaluationsWithoutImprovement: 1 });
    expect(recordValidation(progress, 2.5, 30, 0.01)).toBe(true);
    expect(progress).toEqual({ bestValidationLoss: 2.5, bestStep: 30, evaluationsWithoutImprovement: 0 });
    expect(recordValidation(progress, 2.6, 40, 0.01)).toBe(false);
    expect(patienceExhausted(progress, 2)).toBe(false);
    expect(recordValidation(progress, 2.5, 50, 0.01)).toBe(false); // equal is no better
    expect(patienceExhausted(progress, 2)).toBe(true);
    expect(progress).toEqual({ bestValidationLoss: 2.5, bestStep: 30, evaluationsWithoutImprovement: 2 });
  });
});

const maxSteps = 400;
const evalEvery = 10;
const patience = 3;

/**
 * 60 examples (56 for training, 4 for validation) and a high learning rate: nano overfits the
 * training examples within a hundred steps and its validation loss turns up.
 */
let root: string;
let dataFile: string;
const options = (name: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  dataFile,
  role: 'decomposer',
  preset: 'nano',
  outDirectory: join(root, name, 'run'),
  resume: false,
  overrides: {
    maxSteps,
    epochs: 1000,
    evalEvery,
    checkpointEvery: 1000,
    warmupSteps: 5,
    learningRate: 3e-2,
    batchSize: 4,
    patience,
    promptFormat: 'compact',
  },
  exportDirectory: join(root, name, 'brick'),
  threads: 1,
  ...extra,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function weights(file: string): Promise<Map<string, Float32Array>> {
  const { tensors } = decodeSafetensors(await readFile(file), file);
  return new Map([...tensors].map(([name, tensor]) => [name, tensor.data]));
}

let straight: TrainSummary;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-early-stopping-'));
  dataFile = join(root, 'train.jsonl');
  await writeChats(dataFile, decomposerChats(60, 7));
  straight = await trainStudent(options('straight'));
}, 120_000);

describe('early stopping', () => {
  it('stops once validation has not improved for the patience window', async () => {
    expect(straight.stopReason).toBe('early-stop');
    expect(straight.validationExamples).toBe(4);
    expect(straight.steps).toBeLessThan(maxSteps);
    expect(straight.bestStep).not.toBeNull();
    expect(straight.steps).toBe(straight.bestStep! + patience * evalEvery);
    const validations = (await readTrainingLog(join(root, 'straight', 'run', 'train-log.jsonl'))).flatMap(
      (entry) => ('validationLoss' in entry ? [entry] : []),
    );
    const best = validations.reduce((low, entry) =>
      entry.validationLoss < low.validationLoss ? entry : low,
    );
    expect(best.step).toBe(straight.bestStep);
    expect(straight.bestValLoss).toBeCloseTo(best.validationLoss, 4);
    expect(validations.filter((entry) => entry.step > best.step)).toHaveLength(patience);
    expect(straight.finalValLoss!).toBeGreaterThan(straight.bestValLoss!);
  });

  it('exports the best validation checkpoint, not the last step, and keeps it on disk', async () => {
    const run = join(root, 'straight', 'run');
    const bestDirectory = checkpointDirectoryOf(run, straight.bestStep!);
    expect(await readdir(join(run, 'checkpoints'))).toEqual(
      expect.arrayContaining([
        `step-${String(straight.bestStep).padStart(8, '0')}`,
        `step-${String(straight.steps).padStart(8, '0')}`,
      ]),
    );
    const best = await readTrainingCheckpoint(bestDirectory);
    const last = await readTrainingCheckpoint(checkpointDirectoryOf(run, straight.steps));
    const exported = await weights(join(root, 'straight', 'brick', 'model.safetensors'));
    const view = await weights(join(run, 'model.safetensors')); // what `dnc export DIR` reads
    expect(exported.size).toBe(best.weights.size);
    for (const [name, tensor] of best.weights) {
      expect(exported.get(name), name).toEqual(tensor);
      expect(view.get(name), name).toEqual(tensor);
    }
    const differs = [...last.weights].some(
      ([name, tensor]) => !tensor.every((x, i) => x === exported.get(name)![i]),
    );
    expect(differs).toBe(true);
    const brick = JSON.parse(await readFile(join(root, 'straight', 'brick', 'brick.json'), 'utf8'));
    expect(JSON.stringify(brick)).toContain(`"steps":${straight.bestStep}`);
  });

  it('keeps the best step and the patience count across an interruption and --resume', async () => {
    const controller = new AbortController();
    const stopAt = `step ${straight.bestStep! + evalEvery}/`; // one validation past the best
    const interrupted = await trainStudent(
      options('resumed', {
        signal: controller.signal,
        log: (line) => {
          if (line.startsWith(stopAt)) controller.abort();
        },
      }),
    );
    expect(interrupted.stopReason).toBe('interrupted');
    expect(interrupted.steps).toBe(straight.bestStep! + evalEvery);
    const saved = await readTrainingCheckpoint(
      checkpointDirectoryOf(options('resumed').outDirectory, interrupted.steps),
    );
    expect(saved.state.progress).toMatchObject({
      bestStep: straight.bestStep,
      evaluationsWithoutImprovement: 1,
    });

    const resumed = await trainStudent(options('resumed', { resume: true }));
    expect(resumed).toMatchObject({
      stopReason: 'early-stop',
      steps: straight.steps,
      bestStep: straight.bestStep,
      bestValLoss: straight.bestValLoss,
      resumedFromStep: interrupted.steps,
    });
    const once = await weights(join(root, 'straight', 'brick', 'model.safetensors'));
    const twice = await weights(join(root, 'resumed', 'brick', 'model.safetensors'));
    for (const [name, tensor] of once) expect(twice.get(name), name).toEqual(tensor);

    // A run that stopped early stays stopped on --resume, unless the patience grows.
    const again = await trainStudent(options('resumed', { resume: true }));
    expect(again).toMatchObject({
      stopReason: 'early-stop',
      steps: straight.steps,
      bestStep: straight.bestStep,
    });
    const longer = await trainStudent(
      options('resumed', {
        resume: true,
        overrides: { ...options('resumed').overrides, patience: patience + 1 },
      }),
    );
    expect(longer).toMatchObject({ stopReason: 'early-stop', bestStep: straight.bestStep });
    expect(longer.steps).toBe(straight.steps + evalEvery);
  });

  it('survives SIGKILL: dnc train --resume ends at the same step with the same best weights', async () => {
    const out = join(root, 'killed');
    const args = [
      ...['train', '--data', dataFile, '--role', 'decomposer', '--preset', 'nano', '--out', join(out, 'run')],
      ...['--max-steps', String(maxSteps), '--epochs', '1000', '--eval-every', String(evalEvery)],
      ...['--checkpoint-every', String(evalEvery), '--warmup-steps', '5', '--learning-rate', '0.03'],
      ...['--batch-size', '4', '--patience', String(patience), '--prompt-format', 'compact'],
      ...['--export', join(out, 'brick'), '--threads', '1', '--json'],
    ];
    const child = spawn(process.execPath, [dncBin, ...args], { cwd: repoRoot, stdio: 'ignore' });
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    // Killed once a checkpoint after the best step exists: its state counts one validation without improvement.
    const killAt = checkpointDirectoryOf(join(out, 'run'), straight.bestStep! + evalEvery);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await readdir(killAt).catch(() => null))) await sleep(5);
    child.kill('SIGKILL');
    await closed;
    const resumed = await runCli([...args, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary).toMatchObject({
      stopReason: 'early-stop',
      steps: straight.steps,
      bestStep: straight.bestStep,
    });
    expect(summary.resumedFromStep).toBeGreaterThan(straight.bestStep!);
    expect(summary.resumedFromStep).toBeLessThan(straight.steps); // killed before the run ended
    const once = await weights(join(root, 'straight', 'brick', 'model.safetensors'));
    const twice = await weights(join(out, 'brick', 'model.safetensors'));
    for (const [name, tensor] of once) expect(twice.get(name), name).toEqual(tensor);
  }, 120_000);
});
