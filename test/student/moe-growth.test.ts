import { describe, expect, it } from 'vitest';
import { type Feeds, tensor } from '../../src/engine/session.js';
import { Trainer } from '../../src/engine/trainer.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { expertWeightName, routerRowWidth, routerWeightName } from '../../src/student/moe-config.js';
import {
  frozenGrowthValues,
  growArchitecture,
  growthModel,
  grownWeights,
  initialGrowthWeights,
} from '../../src/student/moe-growth.js';
import { studentModel } from '../../src/train/student-model.js';
import { seededRandom } from '../engine/gradient-check.js';
import { mixture, nanoArchitecture, tokens, trainingForward } from './moe-fixture.js';

const shape = { rows: 2, length: 12 };

function batch(seed: number): Feeds {
  const random = seededRandom(seed);
  const count = shape.rows * shape.length;
  const ids = Array.from({ length: count }, () => Math.floor(random() * 512));
  const targets = [...ids.slice(1), 0];
  return {
    input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [shape.rows, shape.length]),
    segment_ids: tensor(
      'int64',
      BigInt64Array.from({ length: count }, () => 1n),
      [shape.rows, shape.length],
    ),
    targets: tensor('int64', BigInt64Array.from(targets.map(BigInt)), [shape.rows, shape.length]),
    loss_mask: tensor(
      'float32',
      Float32Array.from({ length: count }, () => 1),
      [shape.rows, shape.length],
    ),
  };
}

describe('growing experts', () => {
  it.each(['softmax', 'cosine'] as const)(
    '%s router: trains the new experts and router rows and leaves every old weight bit-identical',
    async (router) => {
      const old = await nanoArchitecture(mixture(2, 1, { router }));
      const oldWeights = initializeWeights({ ...old, initializerRange: 0.2 }, 3);
      const before = new Map([...oldWeights].map(([name, array]) => [name, Float32Array.from(array)]));
      const grown = growArchitecture(old, 2);
      const model = growthModel(grown, 2, studentModel(grown, shape).buildLoss);
      const frozenValues = frozenGrowthValues(oldWeights, grown, 2);
      const trainer = await Trainer.create({
        model,
        initialParameters: initialGrowthWeights(oldWeights, grown, 2, 9),
        frozenValues,
        optimizer: { weightDecay: 0.1 },
      });
      const data = batch(5);
      const first = await trainer.step([data], 0.01);
      let last = first;
      for (let step = 0; step < 10; step += 1) last = await trainer.step([data], 0.01);
      expect(last.loss).toBeLessThan(first.loss);
      const weights = grownWeights(frozenValues, trainer.parameters(), grown);
      // A router row is C wide, or the cosine router's D (its projection, an old weight, stays as it was).
      const C = routerRowWidth(grown.moe!, grown.hiddenSize);
      expect(C).toBe(router === 'cosine' ? 2 : grown.hiddenSize); // max(2, ⌈2 / 2⌉)
      for (let layer = 0; layer < grown.numHiddenLayers; layer += 1) {
        const router = weights.get(routerWeightName(layer)) as Float32Array; // (4, C)
        expect(router.subarray(0, 2 * C)).toEqual(before.get(routerWeightName(layer)));
        expect(router.subarray(2 * C)).not.toEqual(
          initialGrowthWeights(oldWeights, grown, 2, 9)
            .get(routerWeightName(layer))!
            .subarray(2 * C),
        );
        expect(weights.get(expertWeightName(layer, 2, 'w1'))).not.toEqual(
          initialGrowthWeights(oldWeights, grown, 2, 9).get(expertWeightName(layer, 2, 'w1')),
        );
      }
      for (const [name, array] of before) {
        if (name.endsWith('.gate.weight')) continue;
        expect(
          Buffer.from(weights.get(name)!.buffer, weights.get(name)!.byteOffset, array.byteLength).equals(
            Buffer.from(array.buffer),
          ),
        ).toBe(true);
      }
      // The grown student runs: with the new router rows at −∞ it would be the old one; here it differs.
      const row = tokens(8, 1);
      const oldLogits = (await trainingForward(old, before, [row])).logits;
      const grownLogits = (await trainingForward(grown, weights, [row])).logits;
      expect(grownLogits).not.toEqual(oldLogits);
      await trainer.release();
    },
  );
});
