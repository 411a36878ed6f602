/**
 * Attention of the exported decoder over its KV cache, written so that decoding never copies the
 * cache. The past keys/values (B, kvH, P, hd) and the step's own (B, kvH, S, hd) are attended
 * separately and only their scores are joined:
 *
 *   scores  = [Q·Kpastᵀ | Q·Knewᵀ] + bias        (B, kvH, group·S, P+S): the only Concat, of scores
 *   weights = softmax(scores)                     split at P into Wpast and Wnew
 *   output  = Wpast·Vpast + Wnew·Vnew             (B, kvH, group·S, hd)
 *
 * which is softmax(Q·[Kpast; Knew]ᵀ)·[Vpast; Vnew] with the sums grouped differently. The usual
 * graph (Hugging Face's, Optimum's) concatenates the cache first, so every step copies all P
 * positions of every layer twice (the Concat, then the keys' Transpose); measured on the tiny preset
 * at batch 8 with 262 cached positions, those two ops took a third of the step's kernel time. Here
 * the keys' Transpose feeds the MatMul directly, which onnxruntime fuses into one MatMul that reads
 * the keys transposed (FusedMatMul), and `present.*` = Concat(past, new) is still computed for the
 * Hugging Face layout, but nothing in the attention reads it, so a runtime that does not need it
 * can leave it out (src/runtime/onnx/new-position-outputs.ts does).
 *
 * Query head h = kvHead·group + j reads key/value head kvHead, as Hugging Face's repeat_kv does: the
 * group's queries are folded into the rows of one MatMul per key/value head.
 */
import type { Graph, Value } from '../engine/index.js';
import type { Dimension } from '../engine/shape.js';

export interface CachedAttentionInputs {
  /** (B, kvH, group, S, hd), rotated. */
  queries: Value;
  /** (B, kvH, S, hd) each: the step's own positions, keys rotated. */
  keys: Value;
  values: Value;
  /** (B, kvH, P, hd) each. */
  pastKeys: Value;
  pastValues: Value;
  /** (B, 1, 1, S, P+S): 0 where a query may see a key, −1e9 elsewhere. */
  bias: Value;
  batch: Dimension;
  /** The symbolic S, P and P+S (the names of the graph's inputs). */
  length: Dimension;
  pastLength: Dimension;
  totalLength: Dimension;
}

/** (B, kvH, group, S, hd): each query's attention output. */
export function cachedAttention(g: Graph, inputs: CachedAttentionInputs): Value {
  const { queries, keys, values, pastKeys, pastValues, bias, batch, length, pastLength, totalLength } =
    inputs;
  const [, kvHeads, group, , hd] = queries.shape;
  const folded = g.reshape(queries, [batch, kvHeads!, -1, hd!]); // (B, kvH, group·S, hd)
  const pastScores = g.matmul(folded, g.transposeLastTwo(pastKeys)); // (B, kvH, group·S, P)
  const newScores = g.matmul(folded, g.transposeLastTwo(keys)); // (B, kvH, group·S, S)
  const [joined] = g.addNode(
    'Concat',
    [pastScores, newScores],
    [{ dataType: 'float32', shape: [batch, kvHeads!, folded.shape[2]!, totalLength] }],
    { axis: { kind: 'int', value: 3 } },
  ); // (B, kvH, group·S, P+S)
  const scores = g.add(g.reshape(joined!, [batch, kvHeads!, group!, length, totalLength]), bias); // (B, kvH, group, S, P+S)
  const weights = g.reshape(g.softmax(scores, -1), [batch, kvHeads!, -1, totalLength]); // (B, kvH, group·S, P+S)
  const sizes = g.concat([g.dimensionTensor(pastLength), g.dimensionTensor(length)], 0); // (2) = [P, S]
  const [pastWeights, newWeights] = g.addNode(
    'Split',
    [weights, sizes],
    [
      { dataType: 'float32', shape: [batch, kvHeads!, folded.shape[2]!, pastLength] },
      { dataType: 'float32', shape: [batch, kvHeads!, folded.shape[2]!, length] },
    ],
    { axis: { kind: 'int', value: 3 } },
  );
  const attended = g.add(g.matmul(pastWeights!, pastValues), g.matmul(newWeights!, values)); // (B, kvH, group·S, hd)
  return g.reshape(attended, [batch, kvHeads!, group!, length, hd!]); // (B, kvH, group, S, hd)
}
