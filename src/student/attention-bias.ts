/**
 * Additive attention biases for the Llama graph: 0 where a query may attend to a key, −1e9 where
 * it may not. Scores have shape (B, kvHeads, group, S, keys), so a bias of (S, keys) or
 * (B, 1, 1, S, keys) broadcasts over heads.
 */
import { type Value } from '../engine/graph-core.js';
import { type Graph } from '../engine/graph.js';

/** Added to the scores of forbidden keys: large enough that exp underflows to 0 in float32. */
export const maskedScore = -1e9;

/** Causal bias (S, S) for a sequence of static length S with no cache. */
export function causalBias(g: Graph, length: number): Value {
  const values = new Float32Array(length * length);
  for (let row = 0; row < length; row += 1)
    for (let column = row + 1; column < length; column += 1) values[row * length + column] = maskedScore;
  return g.constant('float32', [length, length], values); // (S, S)
}

export interface CachedBiasInputs {
  /** int64 (B, P+S): 1 for real tokens, 0 for (left) padding, over the cached and the new positions. */
  attentionMask: Value;
  /** The number of new tokens S and cached tokens P as dimensions of graph inputs. */
  newLength: string;
  pastLength: string;
}

/**
 * Bias (B, 1, 1, S, P+S) for a decoder step with a cache: new token q (absolute index P + q)
 * sees key k when k ≤ P + q (causality) and the key is not padding (attention mask 1).
 */
export function cachedCausalBias(g: Graph, inputs: CachedBiasInputs): Value {
  const { attentionMask, newLength, pastLength } = inputs;
  const total = attentionMask.shape[1];
  const shape = g.concat([g.dimensionTensor(newLength), g.dimensionTensor(total)], 0); // (2)
  const one = { kind: 'tensor' as const, dataType: 'float32' as const, shape: [1], data: [1] };
  const [ones] = g.addNode('ConstantOfShape', [shape], [{ dataType: 'float32', shape: [newLength, total] }], {
    value: one,
  }); // (S, P+S)
  const diagonal = g.reshape(g.dimensionTensor(pastLength), []); // () = P
  const [causal] = g.addNode('Trilu', [ones, diagonal], [{ dataType: 'float32', shape: ones.shape }], {
    upper: { kind: 'int', value: 0 },
  }); // (S, P+S): 1 where k − q ≤ P
  const keep = g.unsqueeze(g.cast(attentionMask, 'float32'), [1, 2, 3]); // (B, 1, 1, 1, P+S)
  const allowed = g.mul(causal, keep); // (B, 1, 1, S, P+S)
  return g.mul(g.sub(allowed, 1), -maskedScore); // (B, 1, 1, S, P+S): 0 or −1e9
}

/** Bias (B, 1, 1, T, T): 0 where query q may see key k (k ≤ q, same document), −1e9 elsewhere. */
export function packedAttentionBias(g: Graph, segmentIds: Value, length: number): Value {
  const queries = g.unsqueeze(segmentIds, [2]); // (B, T, 1)
  const keys = g.unsqueeze(segmentIds, [1]); // (B, 1, T)
  const sameDocument = g.cast(g.equal(queries, keys), 'float32'); // (B, T, T)
  const lower = new Float32Array(length * length);
  for (let row = 0; row < length; row += 1) lower.fill(1, row * length, row * length + row + 1);
  const causal = g.constant('float32', [length, length], lower); // (T, T)
  const allowed = g.mul(sameDocument, causal); // (B, T, T)
  const bias = g.mul(g.sub(allowed, 1), -maskedScore); // (B, T, T): 0 or −1e9
  return g.unsqueeze(bias, [1, 2]); // (B, 1, 1, T, T)
}
