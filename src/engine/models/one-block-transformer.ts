/**
 * A one-block decoder (embedding → RMSNorm → causal attention → RMSNorm → SwiGLU → RMSNorm → tied
 * LM head) used by the engine's tests and `bench/train.ts` to exercise a full training step.
 */
import { type Value } from '../graph-core.js';
import { type Graph } from '../graph.js';
import { causalSelfAttention, rmsNorm, swiGlu } from '../layers.js';
import { normalArray, seededRandom } from '../random.js';
import { type ParameterSpec, type TrainableModel } from '../training-graphs.js';

export interface OneBlockTransformerConfig {
  vocabulary: number;
  dimension: number;
  heads: number;
  hidden: number;
  batch: number;
  time: number;
}

export const batchInputNames = { tokens: 'tokens', targets: 'targets', mask: 'loss_mask' } as const;

export function oneBlockTransformer(config: OneBlockTransformerConfig): TrainableModel {
  const { vocabulary: V, dimension: C, hidden: F, batch: B, time: T } = config;
  const parameters: ParameterSpec[] = [
    { name: 'embedding', shape: [V, C], decay: true },
    { name: 'attention_norm', shape: [C], decay: false },
    { name: 'query', shape: [C, C], decay: true },
    { name: 'key', shape: [C, C], decay: true },
    { name: 'value', shape: [C, C], decay: true },
    { name: 'attention_output', shape: [C, C], decay: true },
    { name: 'mlp_norm', shape: [C], decay: false },
    { name: 'gate', shape: [C, F], decay: true },
    { name: 'up', shape: [C, F], decay: true },
    { name: 'down', shape: [F, C], decay: true },
    { name: 'final_norm', shape: [C], decay: false },
  ];
  const buildLoss = (g: Graph, p: ReadonlyMap<string, Value>): Value => {
    const w = (name: string): Value => p.get(name) as Value;
    const tokens = g.input(batchInputNames.tokens, 'int64', [B, T]); // (B, T)
    const targets = g.reshape(g.input(batchInputNames.targets, 'int64', [B, T]), [-1]); // (B*T)
    const mask = g.reshape(g.input(batchInputNames.mask, 'float32', [B, T]), [-1]); // (B*T)
    const x = g.reshape(g.gather(w('embedding'), tokens, 0), [-1, C]); // (B*T, C)
    const attention = causalSelfAttention(
      g,
      rmsNorm(g, x, w('attention_norm')),
      { query: w('query'), key: w('key'), value: w('value'), output: w('attention_output') },
      { batch: B, time: T, heads: config.heads },
    ); // (B*T, C)
    const afterAttention = g.add(x, attention); // (B*T, C)
    const mlp = swiGlu(g, rmsNorm(g, afterAttention, w('mlp_norm')), w('gate'), w('up'), w('down')); // (B*T, C)
    const hidden = rmsNorm(g, g.add(afterAttention, mlp), w('final_norm')); // (B*T, C)
    const logits = g.gemm(hidden, w('embedding'), null, { transposeB: true }); // (B*T, V) tied head
    return g.maskedCrossEntropy(logits, targets, mask); // ()
  };
  return { parameters, buildLoss };
}

/** Initial parameters: norms at 1, matrices N(0, 0.02²) (output projections scaled down). */
export function initializeOneBlockTransformer(
  model: TrainableModel,
  seed: number,
): Map<string, Float32Array> {
  const random = seededRandom(seed);
  return new Map(
    model.parameters.map((spec) => {
      const size = spec.shape.reduce((product, dimension) => product * dimension, 1);
      if (spec.shape.length === 1) return [spec.name, new Float32Array(size).fill(1)];
      const scale = spec.name === 'attention_output' || spec.name === 'down' ? 0.02 / Math.SQRT2 : 0.02;
      return [spec.name, normalArray(random, size, scale)];
    }),
  );
}

/**
 * Matrix-multiply FLOPs of one training step (forward + backward = 3 × forward), counting the
 * attention products over the full T × T square the kernels compute.
 */
export function oneBlockTransformerStepFlops(config: OneBlockTransformerConfig): number {
  const { vocabulary: V, dimension: C, hidden: F, batch: B, time: T } = config;
  const tokens = B * T;
  const projectionParameters = 4 * C * C + 3 * C * F + V * C; // attention, SwiGLU, LM head
  const forward = 2 * projectionParameters * tokens + 2 * 2 * T * C * tokens; // + QKᵀ and AV
  return 3 * forward;
}
