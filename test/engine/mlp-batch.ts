/** A seeded batch for the engine's MLP classifier (src/engine/models/mlp.ts): features in [-1, 1), random labels. */
import { type MlpConfig } from '../../src/engine/models/mlp.js';
import { type Feeds, tensor } from '../../src/engine/session.js';
import { seededRandom } from './gradient-check.js';

export function mlpBatch(config: Omit<MlpConfig, 'hidden'>, seed: number, rows = config.rows): Feeds {
  const random = seededRandom(seed);
  const features = Float32Array.from({ length: rows * config.features }, () => random() * 2 - 1);
  const targets = BigInt64Array.from({ length: rows }, () => BigInt(Math.floor(random() * config.classes)));
  return {
    features: tensor('float32', features, [rows, config.features]),
    targets: tensor('int64', targets, [rows]),
  };
}
