/**
 * `dnc train --micro-batch-size N`: a step of 4 rows run as 4 micro-batches of 1 row gives the same
 * update as one batch of 4 (up to float rounding), so does a LoRA run as 2 × 2 rows, a SIGKILLed
 * micro-batched run resumes exactly, and a size that does not divide the batch fails with one line.
 *
 * Tolerance: the two runs compute the same sums in a different order (per micro-batch, then summed,
 * instead of one reduction over the batch), so float32 rounding differs by a few ulps per gradient
 * (relative ~1e-7 per sum, ~1e-6 through a backward pass). AdamW divides by √v, so a step moves each
 * weight by about the learning rate whatever the gradient's size; after 12 steps of lr 0.003 the
 * weights differ from their start by ~0.01 and the two runs by far less. 1e-5 relative on the
 * weights and 1e-4 on the loss leave room for that rounding, but not for a wrong weighting: the
 * plain mean of the micro-batches' means would differ at the first loss already, as this data's rows
 * hold different numbers of answer tokens (the weights themselves are checked in the first test).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/student/safetensors.js';
import { microBatchFeeds } from '../../src/train/micro-batches.js';
import { type Document } from '../../src/train/packing.js';
import { readTrainingLog } from '../../src/train/training-log.js';
import { runCli } from '../helpers/cli.js';
import { nanoTrainArgs, runUntilCheckpoint } from '../helpers/train-runs.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

let root: string;
let dataFile: string;
const steps = 12;

const args = (out: string, extra: readonly string[] = []): string[] =>
  nanoTrainArgs({
    data: dataFile,
    out,
    maxSteps: steps,
    evalEvery: 4,
    checkpointEvery: 4,
    warmupSteps: 2,
    extra: ['--learning-rate', '0.003', '--deterministic', ...extra],
  });

async function weights(out: string): Promise<Map<string, Float32Array>> {
  const file = join(out, 'model.safetensors');
  const { tensors } = decodeSafetensors(await readFile(file), file);
  return new Map([...tensors].map(([name, tensor]) => [name, tensor.data]));
}

/** ‖a − b‖ / ‖b‖ over every tensor. */
function relativeDistance(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let difference = 0;
  let norm = 0;
  for (const [name, values] of b) {
    const other = a.get(name)!;
    values.forEach((value, index) => {
      difference += (value - other[index]) ** 2;
      norm += value ** 2;
    });
  }
  return Math.sqrt(difference / norm);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-micro-batches-'));
  dataFile = join(root, 'train.jsonl');
  await writeChats(dataFile, decomposerChats(40, 3));
});

describe('micro-batch feeds', () => {
  it("weighs each micro-batch by its share of the step's loss targets", () => {
    const document = (targets: number): Document => ({
      inputIds: Array.from({ length: 9 }, (_, index) => index + 1),
      lossMask: Array.from({ length: 9 }, (_, index) => (index >= 9 - targets ? 1 : 0)),
    });
    const documents = [document(1), document(3), document(6), document(2)];
    const shape = { rows: 1, length: 8, targets: 8 };
    const step = microBatchFeeds(documents, [[0], [1], [2], [3]], shape, 4, 0);
    expect(step.targetTokens).toBe(12);
    expect(step.tokens).toBe(32);
    const weightsFed = step.feeds.map((feeds) => Number(feeds.loss_weight!.data[0]));
    // n · targets_i / Σ targets: 4·1/12, 4·3/12, 4·6/12, 4·2/12 (the engine divides by n again).
    [1, 3, 6, 2].forEach((targets, index) => expect(weightsFed[index]).toBeCloseTo((4 * targets) / 12, 6));
    // A short last batch: the missing rows' micro-batch is all padding and weighs nothing.
    const short = microBatchFeeds(documents, [[0], [1]], { ...shape, rows: 2 }, 2, 0);
    expect(short.feeds.map((feeds) => Number(feeds.loss_weight!.data[0]))).toEqual([2, 0]);
  });
});

describe('dnc train --micro-batch-size', () => {
  it('gives the update of one batch, and resumes exactly after SIGKILL', async () => {
    const wholeOut = join(root, 'whole');
    const whole = await runCli(args(wholeOut));
    expect(whole.code, whole.stderr).toBe(0);
    const microOut = join(root, 'micro');
    const micro = await runCli(args(microOut, ['--micro-batch-size', '1']));
    expect(micro.code, micro.stderr).toBe(0);
    expect(micro.stderr).toContain('4 micro-batches of 1');
    const wholeLog = await readTrainingLog(join(wholeOut, 'train-log.jsonl'));
    const microLog = await readTrainingLog(join(microOut, 'train-log.jsonl'));
    expect(microLog.map((entry) => entry.step)).toEqual(wholeLog.map((entry) => entry.step));
    microLog.forEach((entry, index) => {
      const expected = wholeLog[index]!;
      if ('loss' in entry && 'loss' in expected)
        expect(Math.abs(entry.loss - expected.loss), `step ${entry.step}`).toBeLessThan(1e-4);
      if ('validationLoss' in entry && 'validationLoss' in expected)
        expect(Math.abs(entry.validationLoss - expected.validationLoss)).toBeLessThan(1e-4);
    });
    const wholeWeights = await weights(wholeOut);
    const microWeights = await weights(microOut);
    expect(relativeDistance(microWeights, wholeWeights)).toBeLessThan(1e-5);

    // SIGKILL a micro-batched run after its step-4 checkpoint, then --resume: the same curve.
    const killedOut = join(root, 'killed');
    const killed = await runUntilCheckpoint(args(killedOut, ['--micro-batch-size', '1']), killedOut, 4);
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await runCli([...args(killedOut, ['--micro-batch-size', '1']), '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).resumedFromStep).toBeGreaterThanOrEqual(4);
    const resumedLog = await readTrainingLog(join(killedOut, 'train-log.jsonl'));
    expect(resumedLog.map((entry) => entry.step)).toEqual(microLog.map((entry) => entry.step));
    resumedLog.forEach((entry, index) => {
      const expected = microLog[index]!;
      if ('loss' in entry && 'loss' in expected) expect(entry.loss, `step ${entry.step}`).toBe(expected.loss);
    });
    expect(relativeDistance(await weights(killedOut), microWeights)).toBe(0);
  }, 180_000);

  it('gives the update of one batch for a LoRA student of a pretrained base too', async () => {
    const base = join(root, 'base');
    const made = await runCli([...args(join(root, 'base-run')), '--export', base]);
    expect(made.code, made.stderr).toBe(0);
    const lora = (out: string, extra: readonly string[] = []) =>
      args(out, ['--base', base, '--lora-rank', '4', ...extra]).filter(
        (arg, index, all) => arg !== '--preset' && all[index - 1] !== '--preset',
      );
    const wholeOut = join(root, 'lora-whole');
    const microOut = join(root, 'lora-micro');
    const whole = await runCli(lora(wholeOut));
    expect(whole.code, whole.stderr).toBe(0);
    const micro = await runCli(lora(microOut, ['--micro-batch-size', '2']));
    expect(micro.code, micro.stderr).toBe(0);
    const wholeLog = await readTrainingLog(join(wholeOut, 'train-log.jsonl'));
    const microLog = await readTrainingLog(join(microOut, 'train-log.jsonl'));
    expect(microLog.length).toBe(wholeLog.length);
    microLog.forEach((entry, index) => {
      const expected = wholeLog[index]!;
      if ('loss' in entry && 'loss' in expected)
        expect(Math.abs(entry.loss - expected.loss), `step ${entry.step}`).toBeLessThan(1e-4);
    });
    const adapter = await weights(wholeOut);
    expect([...adapter.keys()].every((name) => /\.lora_[AB]\.weight$/.test(name))).toBe(true);
    expect(relativeDistance(await weights(microOut), adapter)).toBeLessThan(1e-5);
  }, 180_000);

  it('refuses a micro-batch size that does not divide the batch, in one line', async () => {
    const result = await runCli(args(join(root, 'bad'), ['--micro-batch-size', '3']));
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toMatch(/^[^\n]*--micro-batch-size 3 must divide --batch-size 4[^\n]*$/);
  }, 60_000);
});
