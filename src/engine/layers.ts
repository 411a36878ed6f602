/**
 * Decoder building blocks written with the builder ops, shared by the engine's test/bench models and
 * the student model. Activations stay 2-D (rows = B*T) wherever possible so projections are single
 * (B*T, C) × (C, D) MatMuls; attention reshapes to (B, H, T, hd) for its batched products.
 */
import { type Value } from './graph-core.js';
import { type Graph } from './graph.js';
import { type Dimension } from './shape.js';

/** RMSNorm over the last axis: x / sqrt(mean(x²) + ε) · weight. x (..., C), weight (C) → (..., C). */
export function rmsNorm(g: Graph, x: Value, weight: Value, epsilon = 1e-5): Value {
  const meanSquare = g.reduceMean(g.mul(x, x), [-1], true); // (..., 1)
  const inverse = g.reciprocal(g.sqrt(g.add(meanSquare, epsilon))); // (..., 1)
  return g.mul(g.mul(x, inverse), weight); // (..., C)
}

/** An additive causal mask (T, T): 0 on and below the diagonal, −1e9 above. */
export function causalMask(g: Graph, time: number): Value {
  const values = new Float32Array(time * time);
  for (let row = 0; row < time; row += 1)
    for (let column = row + 1; column < time; column += 1) values[row * time + column] = -1e9;
  return g.constant('float32', [time, time], values);
}

export interface AttentionWeights {
  query: Value; // (C, C)
  key: Value; // (C, C)
  value: Value; // (C, C)
  output: Value; // (C, C)
}

export interface AttentionShape {
  batch: Dimension;
  time: number;
  heads: number;
}

/** Multi-head causal self-attention. x (B*T, C) → (B*T, C). */
export function causalSelfAttention(
  g: Graph,
  x: Value,
  weights: AttentionWeights,
  shape: AttentionShape,
): Value {
  const { batch, time, heads } = shape;
  const channels = x.shape[1] as number;
  const headSize = channels / heads;
  const scaledX = g.mul(x, 1 / Math.sqrt(headSize)); // (B*T, C): folds 1/√hd into the query
  const split = (projected: Value, permutation: number[]): Value =>
    g.transpose(g.reshape(projected, [batch, time, heads, headSize]), permutation);
  const q = split(g.matmul(scaledX, weights.query), [0, 2, 1, 3]); // (B, H, T, hd)
  const kTransposed = split(g.matmul(x, weights.key), [0, 2, 3, 1]); // (B, H, hd, T)
  const v = split(g.matmul(x, weights.value), [0, 2, 1, 3]); // (B, H, T, hd)
  const scores = g.add(g.matmul(q, kTransposed), causalMask(g, time)); // (B, H, T, T)
  const attended = g.matmul(g.softmax(scores, -1), v); // (B, H, T, hd)
  const merged = g.reshape(g.transpose(attended, [0, 2, 1, 3]), [-1, channels]); // (B*T, C)
  return g.matmul(merged, weights.output); // (B*T, C)
}

/** SwiGLU feed-forward: (silu(x·Wg) ⊙ x·Wu)·Wd. x (N, C), Wg/Wu (C, F), Wd (F, C) → (N, C). */
export function swiGlu(g: Graph, x: Value, gate: Value, up: Value, down: Value): Value {
  const gated = g.matmul(x, gate); // (N, F)
  const activated = g.mul(gated, g.sigmoid(gated)); // (N, F) silu
  return g.matmul(g.mul(activated, g.matmul(x, up)), down); // (N, C)
}
