import { expect, it } from 'vitest';
import { Trainer } from '../../src/engine/trainer.js';
import { loadPreset } from '../../src/student/config.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { batchFeeds, type Document } from '../../src/train/packing.js';
import { studentModel } from '../../src/train/student-model.js';

it('a trainer restored from a snapshot of parameters, moments and step count continues bit-identically', async () => {
  const architecture = (await loadPreset('nano')).architecture;
  const shape = { rows: 2, length: 16 };
  const model = studentModel(architecture, shape);
  const documents: Document[] = [0, 1, 2, 3].map((seed) => ({
    inputIds: Array.from({ length: 8 }, (_, position) => (position * 13 + seed * 7 + 3) % 512),
    lossMask: Array.from({ length: 8 }, () => 1),
  }));
  const batches = [
    [
      [0, 1],
      [2, 3],
    ],
    [
      [1, 2],
      [3, 0],
    ],
    [[3], [0, 2]],
  ].map((rows) => batchFeeds(documents, rows, shape, 2).feeds);
  const initialParameters = initializeWeights(architecture, 4);
  const original = await Trainer.create({ model, initialParameters, optimizer: { maxGradientNorm: 1 } });
  await original.step([batches[0]], 3e-3);
  await original.step([batches[1]], 3e-3);
  const snapshot = new Map(
    original.stateNames().map((name) => [name, Float32Array.from(original.value(name))]),
  );
  expect([...snapshot.keys()].filter((name) => name.startsWith('adam_m.')).length).toBe(
    model.parameters.length,
  );
  const next = await original.step([batches[2]], 2e-3);

  const restored = await Trainer.create({ model, initialParameters, optimizer: { maxGradientNorm: 1 } });
  restored.restore(snapshot, 2);
  expect(restored.steps).toBe(2);
  const resumed = await restored.step([batches[2]], 2e-3);
  expect(resumed.loss).toBe(next.loss);
  for (const name of original.stateNames()) expect(restored.value(name)).toEqual(original.value(name));
  expect(() => restored.restore(new Map(), 1)).toThrow(/lacks/);
  await Promise.all([original.release(), restored.release()]);
});
