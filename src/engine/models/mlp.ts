/** A two-layer tanh MLP classifier, the smallest model the engine's training tests overfit. */
import { type Value } from '../graph-core.js';
import { type Graph } from '../graph.js';
import { normalArray, seededRandom } from '../random.js';
import { type TrainableModel } from '../training-graphs.js';

export interface MlpConfig {
  features: number;
  hidden: number;
  classes: number;
  rows: number;
}

export function mlpClassifier(config: MlpConfig): TrainableModel {
  const { features, hidden, classes, rows } = config;
  return {
    parameters: [
      { name: 'w1', shape: [features, hidden], decay: true },
      { name: 'b1', shape: [hidden], decay: false },
      { name: 'w2', shape: [hidden, classes], decay: true },
      { name: 'b2', shape: [classes], decay: false },
    ],
    buildLoss: (g: Graph, p: ReadonlyMap<string, Value>): Value => {
      const w = (name: string): Value => p.get(name) as Value;
      const x = g.input('features', 'float32', [rows, features]); // (N, F)
      const targets = g.input('targets', 'int64', [rows]); // (N)
      const h = g.tanh(g.gemm(x, w('w1'), w('b1'))); // (N, H)
      const logits = g.add(g.matmul(h, w('w2')), w('b2')); // (N, K)
      return g.reduceMean(g.softmaxCrossEntropy(logits, targets).loss, [0]); // ()
    },
  };
}

export function initializeMlp(model: TrainableModel, seed: number): Map<string, Float32Array> {
  const random = seededRandom(seed);
  return new Map(
    model.parameters.map((spec) => {
      const size = spec.shape.reduce((product, dimension) => product * dimension, 1);
      const scale = spec.shape.length === 1 ? 0 : 1 / Math.sqrt(spec.shape[0]);
      return [spec.name, normalArray(random, size, scale)];
    }),
  );
}
