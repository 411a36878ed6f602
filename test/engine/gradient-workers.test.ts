/**
 * Data-parallel training (TrainerOptions.workers): micro-batches spread over worker threads give the
 * update of the same micro-batches run in this thread, repeat bit for bit, feed frozen inputs to
 * every worker, and a failing worker's error reaches the caller with the worker named.
 *
 * Tolerance against the in-thread run: both sum the same per-micro-batch gradients, in-graph
 * ((0 + g1) + g2) against in JavaScript (g1 + g2, rounded to float32 once), and the in-thread
 * sessions run on two threads; a few ulps per gradient, far under 1e-6 after 6 steps of lr 0.01.
 */
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initializeMlp, mlpClassifier } from '../../src/engine/models/mlp.js';
import { type Feeds, tensor } from '../../src/engine/session.js';
import { Trainer, type TrainerOptions } from '../../src/engine/trainer.js';
import { type TrainableModel } from '../../src/engine/training-graphs.js';
import { mlpBatch } from './mlp-batch.js';

const config = { features: 6, hidden: 24, classes: 4, rows: 4 };

const microBatch = (seed: number): Feeds => mlpBatch(config, seed);

/** Six steps of four micro-batches each; returns the losses and the final parameters. */
async function train(options: Omit<TrainerOptions, 'microBatches'>) {
  const trainer = await Trainer.create({ ...options, microBatches: 4 });
  try {
    const losses: number[] = [];
    for (let step = 0; step < 6; step += 1) {
      const batches = [0, 1, 2, 3].map((index) => microBatch(step * 4 + index));
      losses.push((await trainer.step(batches, 0.01)).loss);
    }
    return { losses, parameters: trainer.parameters() };
  } finally {
    await trainer.release();
  }
}

function largestRelativeDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let largest = 0;
  for (const [name, values] of a) {
    const other = b.get(name)!;
    values.forEach((value, index) => {
      largest = Math.max(largest, Math.abs(value - other[index]!) / Math.max(Math.abs(value), 1e-3));
    });
  }
  return largest;
}

describe('data-parallel gradient workers', () => {
  const model = mlpClassifier(config);
  const initialParameters = initializeMlp(model, 3);

  it('gives the update of the same micro-batches run in this thread, and repeats bit for bit', async () => {
    const inThread = await train({ model, initialParameters });
    const parallel = await train({ model, initialParameters, workers: 2 });
    const again = await train({ model, initialParameters, workers: 2 });
    parallel.losses.forEach((loss, step) =>
      expect(Math.abs(loss - inThread.losses[step]!)).toBeLessThan(1e-6),
    );
    expect(largestRelativeDifference(parallel.parameters, inThread.parameters)).toBeLessThan(1e-5);
    expect(again.losses).toEqual(parallel.losses); // exact
    for (const [name, values] of parallel.parameters) expect(again.parameters.get(name)).toEqual(values);
    // The run moved: a worker that returned zeros or stale gradients would leave the loss flat.
    expect(parallel.losses[5]).toBeLessThan(parallel.losses[0]! - 0.01);
  }, 60_000);

  it('feeds frozen inputs to every worker', async () => {
    const frozenModel: TrainableModel = {
      parameters: model.parameters.filter((spec) => spec.name !== 'w1'),
      frozen: model.parameters
        .filter((spec) => spec.name === 'w1')
        .map(({ name, shape }) => ({ name, shape })),
      buildLoss: model.buildLoss,
    };
    const frozenValues = new Map([['w1', initialParameters.get('w1')!]]);
    const trainable = new Map([...initialParameters].filter(([name]) => name !== 'w1'));
    const inThread = await train({ model: frozenModel, initialParameters: trainable, frozenValues });
    const parallel = await train({
      model: frozenModel,
      initialParameters: trainable,
      frozenValues,
      workers: 4,
    });
    expect(largestRelativeDifference(parallel.parameters, inThread.parameters)).toBeLessThan(1e-5);
  }, 60_000);

  it('does not keep the process alive when a run ends without releasing the trainer', async () => {
    const script = fileURLToPath(new URL('./unreleased-trainer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const timeout = delay(20_000).then(() => 'still running' as const);
    const outcome = await Promise.race([exited, timeout]);
    child.kill('SIGKILL');
    expect(stdout).toMatch(/stepped: loss \d/);
    expect(outcome).toBe(0);
  }, 30_000);

  it('refuses a worker count that does not divide the micro-batches', async () => {
    await expect(Trainer.create({ model, initialParameters, microBatches: 4, workers: 3 })).rejects.toThrow(
      'workers (3) must be a positive integer dividing the micro-batches (4)',
    );
  });

  it("reports a worker's failure with the worker named, and the trainer stays usable for release", async () => {
    const trainer = await Trainer.create({ model, initialParameters, microBatches: 2, workers: 2 });
    try {
      const wrong = { ...microBatch(1), features: tensor('float32', new Float32Array(7 * 6), [7, 6]) };
      await expect(trainer.step([microBatch(0), wrong], 0.01)).rejects.toThrow(
        /gradient worker 2 of 2: .*input 'features' should be float32\[4, 6\] but is float32\[7, 6\]/,
      );
    } finally {
      await trainer.release();
    }
  }, 30_000);
});
