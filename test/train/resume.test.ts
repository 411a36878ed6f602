import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/student/safetensors.js';
import { readTrainingLog } from '../../src/train/training-log.js';
import { runCli } from '../helpers/cli.js';
import { checkpointSteps, nanoTrainArgs, runUntilCheckpoint } from '../helpers/train-runs.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

let root: string;
let dataFile: string;
const steps = 60;

const args = (out: string): string[] =>
  nanoTrainArgs({ data: dataFile, out, maxSteps: steps, extra: ['--threads', '1'] });

/** Starts a run and sends `signal` once a checkpoint of step ≥ `afterStep` exists. */
const interruptedRun = (out: string, signal: NodeJS.Signals, afterStep: number) =>
  runUntilCheckpoint(args(out), out, afterStep, signal);

async function weights(file: string): Promise<Map<string, Float32Array>> {
  const { tensors } = decodeSafetensors(await readFile(file), file);
  return new Map([...tensors].map(([name, tensor]) => [name, tensor.data]));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-train-resume-'));
  dataFile = join(root, 'train.jsonl');
  await writeChats(dataFile, decomposerChats(40, 5));
});

describe('dnc train --resume', () => {
  it('after SIGKILL, resuming gives the uninterrupted loss curve and the same final weights', async () => {
    const uninterrupted = await runCli(args(join(root, 'straight')));
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    expect(JSON.parse(uninterrupted.stdout).steps).toBe(steps);

    const killedOut = join(root, 'killed');
    const killed = await interruptedRun(killedOut, 'SIGKILL', 20);
    expect(killed.signal).toBe('SIGKILL');
    expect(await checkpointSteps(killedOut)).not.toContain(steps); // it really stopped midway
    const resumed = await runCli([...args(killedOut), '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary.resumedFromStep).toBeGreaterThanOrEqual(20);
    expect(summary.resumedFromStep).toBeLessThan(steps);
    expect(summary.steps).toBe(steps);

    const straightLog = await readTrainingLog(join(root, 'straight', 'train-log.jsonl'));
    const resumedLog = await readTrainingLog(join(killedOut, 'train-log.jsonl'));
    expect(resumedLog.map((entry) => entry.step)).toEqual(straightLog.map((entry) => entry.step));
    resumedLog.forEach((entry, index) => {
      const expected = straightLog[index];
      if ('loss' in entry && 'loss' in expected) expect(entry.loss).toBeCloseTo(expected.loss, 5);
      else if ('validationLoss' in entry && 'validationLoss' in expected)
        expect(entry.validationLoss).toBeCloseTo(expected.validationLoss, 5);
      else throw new Error(`log entries differ at ${index}`);
    });
    const straightWeights = await weights(join(root, 'straight', 'model.safetensors'));
    const resumedWeights = await weights(join(killedOut, 'model.safetensors'));
    for (const [name, values] of straightWeights) {
      const other = resumedWeights.get(name)!;
      let worst = 0;
      for (let index = 0; index < values.length; index += 1)
        worst = Math.max(worst, Math.abs(values[index] - other[index]));
      expect(worst, name).toBeLessThan(1e-6);
    }
  }, 120_000);

  it('SIGTERM stops after the current step with a checkpoint of that step and exit code 143', async () => {
    const out = join(root, 'terminated');
    const terminated = await interruptedRun(out, 'SIGTERM', 10);
    expect(terminated.code, terminated.stderr).toBe(143);
    expect(terminated.stderr).toMatch(
      /SIGTERM received.*\n(.|\n)*continue with the same command and --resume/,
    );
    const saved = Math.max(...(await checkpointSteps(out)));
    expect(saved).toBeGreaterThanOrEqual(10);
    expect(saved).toBeLessThan(steps);
    const log = await readTrainingLog(join(out, 'train-log.jsonl'));
    expect(log.at(-1)?.step).toBe(saved); // the checkpoint is the last step taken
  }, 60_000);
});
