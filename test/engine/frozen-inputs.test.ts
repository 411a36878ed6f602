import { describe, expect, it } from 'vitest';
import { initializeMlp, mlpClassifier } from '../../src/engine/models/mlp.js';
import { type Feeds } from '../../src/engine/session.js';
import { Trainer } from '../../src/engine/trainer.js';
import { buildStepGraph, type TrainableModel } from '../../src/engine/training-graphs.js';
import { mlpBatch } from './mlp-batch.js';

const config = { features: 6, hidden: 16, classes: 4, rows: 8 };

const batch = (seed: number): Feeds => mlpBatch(config, seed);

/** The MLP with the named parameters moved to `frozen`. */
function freeze(model: TrainableModel, names: readonly string[]): TrainableModel {
  return {
    parameters: model.parameters.filter((spec) => !names.includes(spec.name)),
    frozen: model.parameters
      .filter((spec) => names.includes(spec.name))
      .map(({ name, shape }) => ({ name, shape })),
    buildLoss: model.buildLoss,
  };
}

const products = (model: TrainableModel): number =>
  buildStepGraph(model, {}).nodes.filter((node) => node.opType === 'MatMul' || node.opType === 'Gemm').length;

describe('frozen inputs', () => {
  it('keeps frozen weights bit-identical, trains the rest, and matches the all-trainable loss at step 1', async () => {
    const full = mlpClassifier(config);
    const values = initializeMlp(full, 7);
    const model = freeze(full, ['w2', 'b2']);
    const frozenValues = new Map(['w2', 'b2'].map((name) => [name, values.get(name)!]));
    const before = new Map([...frozenValues].map(([name, array]) => [name, Float32Array.from(array)]));
    const trainable = new Map(model.parameters.map((spec) => [spec.name, values.get(spec.name)!]));
    const frozenTrainer = await Trainer.create({ model, initialParameters: trainable, frozenValues });
    const fullTrainer = await Trainer.create({ model: full, initialParameters: values });
    const data = batch(3);
    const first = await frozenTrainer.step([data], 0.05);
    expect(first.loss).toBe((await fullTrainer.step([data], 0.05)).loss);
    let last = first;
    for (let step = 0; step < 60; step += 1) last = await frozenTrainer.step([data], 0.05);
    expect(last.loss).toBeLessThan(first.loss * 0.8);
    for (const [name, array] of frozenValues) expect(array).toEqual(before.get(name));
    expect(frozenTrainer.value('w1')).not.toEqual(values.get('w1'));
    expect(frozenTrainer.stateNames().sort()).toEqual(
      ['adam_m.b1', 'adam_m.w1', 'adam_v.b1', 'adam_v.w1', 'b1', 'w1'].sort(),
    );
    expect(await frozenTrainer.evaluate(data)).toBeCloseTo(last.loss, 1);
    await frozenTrainer.release();
    await fullTrainer.release();
  });

  it('builds no gradient for a frozen weight: one product fewer per frozen matrix, no update outputs', () => {
    const full = mlpClassifier(config);
    const frozenHead = freeze(full, ['w2', 'b2']); // dW2 is not built; dh still is (w1 trains)
    const frozenBoth = freeze(full, ['w1', 'b1']); // dW1 is not built, and dh is not needed
    expect(products(frozenHead)).toBe(products(full) - 1);
    expect(products(frozenBoth)).toBe(products(full) - 2);
    const outputs = buildStepGraph(frozenHead, {}).outputs.map((output) => output.name);
    expect(outputs.some((name) => name.includes('w2') || name.includes('b2'))).toBe(false);
    expect(outputs).toContain('next.w1');
  });

  it('holds no spare or moment for frozen inputs and feeds the caller’s arrays without copying', async () => {
    const full = mlpClassifier(config);
    const values = initializeMlp(full, 1);
    const model = freeze(full, ['w1', 'b1']);
    const frozenValues = new Map(['w1', 'b1'].map((name) => [name, values.get(name)!]));
    const trainer = await Trainer.create({
      model,
      initialParameters: new Map(model.parameters.map((spec) => [spec.name, values.get(spec.name)!])),
      frozenValues,
    });
    const fullTrainer = await Trainer.create({ model: full, initialParameters: values });
    const memory = trainer.memory();
    const trainableFloats = config.hidden * config.classes + config.classes;
    const frozenFloats = config.features * config.hidden + config.hidden;
    expect(memory).toEqual({
      stateArrays: 12,
      stateFloats: 6 * trainableFloats,
      frozenArrays: 2,
      frozenFloats,
    });
    expect(fullTrainer.memory().stateArrays).toBe(24);
    // The arrays are fed as they are: changing one changes the next loss.
    const data = batch(5);
    const loss = await trainer.evaluate(data);
    frozenValues.get('w1')!.fill(0);
    expect(await trainer.evaluate(data)).not.toBe(loss);
    await trainer.release();
    await fullTrainer.release();
  });

  it('refuses a missing frozen value and a name declared both ways', async () => {
    const full = mlpClassifier(config);
    const model = freeze(full, ['w1']);
    const initialParameters = new Map(
      model.parameters.map((spec) => [spec.name, new Float32Array(spec.shape.reduce((a, b) => a * b, 1))]),
    );
    await expect(Trainer.create({ model, initialParameters })).rejects.toThrow(
      /frozen input 'w1' is missing/,
    );
    const both = { ...full, frozen: [{ name: 'w1', shape: [config.features, config.hidden] }] };
    expect(() => buildStepGraph(both, {})).toThrow(/both trainable and frozen/);
  });
});
