/**
 * The student as a `TrainableModel` over packed rows: the Llama forward of src/student/llama-graph.ts
 * with a document-aware attention bias, and the masked next-token cross-entropy.
 *
 * Batch inputs:
 *   input_ids         int64    (B, T)  the packed tokens
 *   segment_ids       int64    (B, T)  which document of the row a position belongs to (0 = padding)
 *   targets           int64    (B, T)  the next token of the same document (0 where there is none)
 *   loss_mask         float32  (B, T)  1 where the target's loss counts (assistant tokens), else 0
 *
 * With `targets: K` in the batch shape, only the loss positions get logits: `target_positions`
 * int64 (K) lists them (flat indices into B·T), and `targets` and `loss_mask` are (K), padded with
 * position 0, target 0, mask 0. About half of a decomposer's positions are prompt tokens, so the
 * tied head (a (C, V) product and a V-wide softmax per row) does about half the work.
 *
 * A position attends only to earlier positions of its own document, so packed examples never see
 * each other. Rotary positions run 0 .. T−1 over the whole row; because rotary attention depends
 * only on the distance between a query and a key, a document placed at offset k scores exactly as
 * it would at offset 0 (up to float rounding), i.e. as it will at inference time.
 */
import { type Value } from '../engine/graph-core.js';
import { type Graph } from '../engine/graph.js';
import { type TrainableModel } from '../engine/training-graphs.js';
import { packedAttentionBias } from '../student/attention-bias.js';
import { type StudentArchitecture } from '../student/config.js';
import { llamaForward, llamaParameterSpecs, type ProjectionAdapter } from '../student/llama-graph.js';
import { loraAdapter, loraParameterSpecs, type LoraSettings } from '../student/lora.js';
import { auxiliaryLoss, type RouterOutputs } from '../student/moe-layer.js';
import { isMixtureLayer, routerParameterCount } from '../student/moe-config.js';

export const studentBatchNames = {
  inputIds: 'input_ids',
  targets: 'targets',
  lossMask: 'loss_mask',
  segmentIds: 'segment_ids',
  targetPositions: 'target_positions',
} as const;

export interface BatchShape {
  /** Rows per batch (B). */
  rows: number;
  /** Tokens per row (T). */
  length: number;
  /** Loss positions fed per batch (K); absent: targets and mask cover every position. */
  targets?: number;
}

/** Declares the batch inputs and runs the forward: logits rows (B·T or K, V) and the flat targets and mask. */
export function studentForward(
  g: Graph,
  architecture: StudentArchitecture,
  parameters: ReadonlyMap<string, Value>,
  shape: BatchShape,
  adapter?: ProjectionAdapter,
): { logitsRows: Value; logits?: Value; targets: Value; lossMask: Value; routing: RouterOutputs[] } {
  const { rows: B, length: T, targets: K } = shape;
  const inputIds = g.input(studentBatchNames.inputIds, 'int64', [B, T]); // (B, T)
  const segmentIds = g.input(studentBatchNames.segmentIds, 'int64', [B, T]); // (B, T)
  const targetInput = K === undefined ? [B, T] : [K]; // (B, T) or (K)
  const targets = g.reshape(g.input(studentBatchNames.targets, 'int64', targetInput), [-1]); // (B·T) or (K)
  const lossMask = g.reshape(g.input(studentBatchNames.lossMask, 'float32', targetInput), [-1]); // (B·T) or (K)
  const headRows = K === undefined ? undefined : g.input(studentBatchNames.targetPositions, 'int64', [K]); // (K)
  const attentionBias = packedAttentionBias(g, segmentIds, T); // (B, 1, 1, T, T)
  const { logitsRows, logits, routing } = llamaForward(g, architecture, parameters, {
    inputIds,
    attentionBias,
    headRows,
    adapter,
  }); // (B·T or K, V)
  return { logitsRows, logits, targets, lossMask, routing };
}

/**
 * The trainable student: HF-named parameters, loss = mean cross-entropy over masked targets. With
 * `lora`, the base's weights are frozen inputs (no gradient, no moments) and the trainable
 * parameters are the LoRA A and B matrices (src/student/lora.ts); LoRA dropout, if any, runs in the
 * training graphs only, seeded from `dropoutSeed`.
 */
export function studentModel(
  architecture: StudentArchitecture,
  shape: BatchShape,
  lora?: LoraSettings,
  dropoutSeed = 0,
): TrainableModel {
  const base = llamaParameterSpecs(architecture);
  return {
    parameters: lora === undefined ? base : loraParameterSpecs(architecture, lora),
    frozen:
      lora === undefined ? [] : base.map(({ name, shape: dimensions }) => ({ name, shape: dimensions })),
    buildLoss: (g, parameters) => {
      const adapter = lora === undefined ? undefined : loraAdapter(g, parameters, lora, dropoutSeed);
      const forward = studentForward(g, architecture, parameters, shape, adapter);
      const { logitsRows, targets, lossMask, routing } = forward;
      const loss = g.maskedCrossEntropy(logitsRows, targets, lossMask); // ()
      const routerLoss = auxiliaryLoss(g, architecture.moe, routing); // (): MoE students only
      return routerLoss === undefined ? loss : g.add(loss, routerLoss);
    },
  };
}

/**
 * Matrix-multiply FLOPs of one training step (forward + backward ≈ 3 × forward) for B·T tokens,
 * counting attention over the full T × T square the kernels compute (masked entries included), and,
 * when the shape feeds loss positions only (K), the head and the last dense layer's o_proj and MLP
 * over K rows (llama-graph.ts gathers them right after the last attention).
 */
export function studentStepFlops(architecture: StudentArchitecture, shape: BatchShape): number {
  const { hiddenSize: C, intermediateSize: F, vocabSize: V, numHiddenLayers: L } = architecture;
  const head = C / architecture.numAttentionHeads;
  const kvWidth = architecture.numKeyValueHeads * head;
  const tokens = shape.rows * shape.length;
  const inputFlops = 2 * (C * C + 2 * C * kvWidth) + 2 * 2 * shape.length * C; // q, k, v; QKᵀ and AV
  const outputFlops = 2 * C * C; // o_proj
  const moe = architecture.moe;
  // A mixture layer: the router (C × E) and the k experts a token runs through (their active MLPs).
  const mlpFlops = (layer: number): number =>
    moe !== undefined && isMixtureLayer(moe, layer)
      ? 2 * 3 * C * F * moe.topK + 2 * routerParameterCount(moe, C)
      : 2 * 3 * C * F;
  const headRows = shape.targets ?? tokens; // the tied head runs on the loss positions alone when K is set
  const lastGathered = shape.targets !== undefined && !(moe !== undefined && isMixtureLayer(moe, L - 1));
  let forward = headRows * 2 * V * C;
  for (let layer = 0; layer < L; layer += 1) {
    const rows = lastGathered && layer === L - 1 ? headRows : tokens; // rows after the attention
    forward += tokens * inputFlops + rows * (outputFlops + mlpFlops(layer));
  }
  return 3 * forward;
}
