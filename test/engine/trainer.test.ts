import { describe, expect, it } from 'vitest';
import { initializeMlp, mlpClassifier } from '../../src/engine/models/mlp.js';
import {
  batchInputNames,
  initializeOneBlockTransformer,
  oneBlockTransformer,
} from '../../src/engine/models/one-block-transformer.js';
import { type Feeds, tensor } from '../../src/engine/session.js';
import { Trainer } from '../../src/engine/trainer.js';
import { seededRandom } from './gradient-check.js';
import { mlpBatch } from './mlp-batch.js';

const mlpConfig = { features: 6, hidden: 32, classes: 4, rows: 16 };

const batchOf = (seed: number, rows = mlpConfig.rows): Feeds => mlpBatch(mlpConfig, seed, rows);

const transformerConfig = { vocabulary: 16, dimension: 32, heads: 4, hidden: 64, batch: 4, time: 8 };

function sequenceBatch(seed: number): Feeds {
  const { batch, time, vocabulary } = transformerConfig;
  const random = seededRandom(seed);
  const sequence = Array.from({ length: batch * (time + 1) }, () => Math.floor(random() * vocabulary));
  // Distinct first tokens make every next token a function of the prefix, so zero loss is reachable.
  for (let row = 0; row < batch; row += 1) sequence[row * (time + 1)] = row;
  const tokens = new BigInt64Array(batch * time);
  const targets = new BigInt64Array(batch * time);
  for (let row = 0; row < batch; row += 1) {
    for (let position = 0; position < time; position += 1) {
      tokens[row * time + position] = BigInt(sequence[row * (time + 1) + position]);
      targets[row * time + position] = BigInt(sequence[row * (time + 1) + position + 1]);
    }
  }
  const mask = new Float32Array(batch * time).fill(1);
  mask[time - 1] = 0; // one masked position: its target must not matter
  return {
    [batchInputNames.tokens]: tensor('int64', tokens, [batch, time]),
    [batchInputNames.targets]: tensor('int64', targets, [batch, time]),
    [batchInputNames.mask]: tensor('float32', mask, [batch, time]),
  };
}

describe('Trainer', () => {
  it('overfits a small MLP on a tiny labelled set to near-zero loss', async () => {
    const model = mlpClassifier(mlpConfig);
    const trainer = await Trainer.create({
      model,
      initialParameters: initializeMlp(model, 1),
      optimizer: { weightDecay: 0 },
    });
    const batch = batchOf(3);
    const first = await trainer.step([batch], 0.02);
    let last = first;
    for (let step = 0; step < 300; step += 1) last = await trainer.step([batch], 0.02);
    expect(first.loss).toBeGreaterThan(1);
    expect(last.loss).toBeLessThan(0.02);
    expect(await trainer.evaluate(batch)).toBeLessThan(0.02);
    await trainer.release();
  });

  it('overfits a one-block transformer on four sequences to near-zero loss', async () => {
    const model = oneBlockTransformer(transformerConfig);
    const trainer = await Trainer.create({
      model,
      initialParameters: initializeOneBlockTransformer(model, 5),
      optimizer: { weightDecay: 0, maxGradientNorm: 1 },
    });
    const batch = sequenceBatch(11);
    const first = await trainer.step([batch], 1e-2);
    let last = first;
    for (let step = 0; step < 200; step += 1) last = await trainer.step([batch], 1e-2);
    expect(first.loss).toBeCloseTo(Math.log(transformerConfig.vocabulary), 0);
    expect(last.loss).toBeLessThan(0.05);
    await trainer.release();
  });

  it('leaves parameters bit-identical at learning rate 0 (fused step and accumulation)', async () => {
    const model = oneBlockTransformer(transformerConfig);
    const initial = initializeOneBlockTransformer(model, 9);
    for (const microBatches of [1, 2]) {
      const trainer = await Trainer.create({
        model,
        initialParameters: initial,
        microBatches,
        optimizer: { maxGradientNorm: 1 },
      });
      for (let step = 0; step < 3; step += 1) {
        const result = await trainer.step(
          Array.from({ length: microBatches }, (_, index) => sequenceBatch(step * 7 + index)),
          0,
        );
        expect(result.gradientNorm).toBeGreaterThan(0);
      }
      for (const [name, values] of trainer.parameters()) expect(values).toEqual(initial.get(name));
      expect(trainer.value('adam_m.query').some((value) => value !== 0)).toBe(true);
      await trainer.release();
    }
  });

  it('accumulating two half batches gives the same update as one full batch', async () => {
    const model = mlpClassifier(mlpConfig);
    const half = mlpClassifier({ ...mlpConfig, rows: mlpConfig.rows / 2 });
    const initial = initializeMlp(model, 2);
    const full = batchOf(4);
    const rows = mlpConfig.rows / 2;
    const slice = (start: number): Feeds => ({
      features: tensor('float32', (full.features.data as Float32Array).slice(start * 6, (start + rows) * 6), [
        rows,
        6,
      ]),
      targets: tensor('int64', (full.targets.data as BigInt64Array).slice(start, start + rows), [rows]),
    });
    const whole = await Trainer.create({ model, initialParameters: initial });
    const accumulated = await Trainer.create({ model: half, initialParameters: initial, microBatches: 2 });
    const a = await whole.step([full], 0.01);
    const b = await accumulated.step([slice(0), slice(rows)], 0.01);
    expect(b.loss).toBeCloseTo(a.loss, 5);
    expect(b.gradientNorm).toBeCloseTo(a.gradientNorm, 5);
    for (const [name, values] of whole.parameters()) {
      const other = accumulated.value(name);
      values.forEach((value, index) => expect(other[index]).toBeCloseTo(value, 6));
    }
    await whole.release();
    await accumulated.release();
  });
});
