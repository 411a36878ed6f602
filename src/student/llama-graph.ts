/**
 * The student as an ONNX graph: a Hugging Face `LlamaForCausalLM` (RMSNorm, rotate_half rotary
 * positions, SwiGLU, grouped-query attention) written with the engine's builder, with what
 * `MistralForCausalLM`, `Qwen2ForCausalLM` and `Qwen3ForCausalLM` add: projection biases, Qwen3's
 * per-head q/k RMSNorm and explicit head size, an untied `lm_head`, Llama 3 rope scaling.
 * ONE forward function serves two modes:
 *
 * - training: `input_ids (B, T)`, parameters are whatever builder values the caller passes (graph
 *   inputs the trainer differentiates), causal attention over the sequence, logits (B, T, V);
 * - cached decoding (export): `input_ids (B, S)`, `attention_mask (B, P+S)`, `position_ids (B, S)`,
 *   `past_key_values.{i}.key|value (B, kvHeads, P, hd)` in; `logits (B, S, V)` and
 *   `present.{i}.key|value (B, kvHeads, P+S, hd)` out; weights are initializers.
 *
 * Parameters carry their Hugging Face names and (out, in) layouts; projections are Gemm with
 * transB over 2-D activations (rows = B·S), so no weight is ever transposed, and every Linear of a
 * layer goes through `projection`.
 */
import { type Value } from '../engine/graph-core.js';
import { Graph } from '../engine/graph.js';
import { type ParameterSpec } from '../engine/training-graphs.js';
import { type Dimension } from '../engine/shape.js';
import { cachedCausalBias, causalBias } from './attention-bias.js';
import { cachedAttention } from './cached-attention.js';
import { hasProjectionBias, headDimension, type ProjectionName, type StudentArchitecture } from './config.js';
import { studentWeightShapes } from './initialize.js';
import { isMixtureLayer } from './moe-config.js';
import { mixtureOfExperts, type RouterOutputs } from './moe-layer.js';
import {
  applyRotary,
  architectureInverseFrequencies,
  constantRotaryTables,
  rotaryTablesFromPositions,
  type RotaryTables,
} from './rotary.js';

/** Dimension names of the exported decoder (the Hugging Face / Optimum names). */
export const decoderDimensions = {
  batch: 'batch_size',
  sequence: 'sequence_length',
  past: 'past_sequence_length',
  total: 'total_sequence_length',
} as const;

/** Input and output names of the exported decoder (the Hugging Face ONNX layout). */
export const decoderNames = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  logits: 'logits',
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
};

export interface KeyValue {
  key: Value; // (B, kvHeads, P, hd)
  value: Value; // (B, kvHeads, P, hd)
}

export interface LlamaCacheInputs {
  /** int64 (B, P+S), 1 for real tokens and 0 for left padding. */
  attentionMask: Value;
  /** One entry per layer. */
  past: readonly KeyValue[];
}

export interface LlamaForwardInputs {
  /** int64 (B, S). */
  inputIds: Value;
  /** int64 (B, S); when absent, positions are 0 .. S−1 and S must be static (training). */
  positionIds?: Value;
  /** Present in cached decoding; absent in training (plain causal attention over S). */
  cache?: LlamaCacheInputs;
  /** Training only: an additive bias (…, S, S) replacing the causal one (e.g. packed documents). */
  attentionBias?: Value;
  /**
   * Training only: int64 (K) positions of the B·S rows that need logits (the loss positions). The
   * head then runs on K rows instead of B·S, and `logits` is absent.
   */
  headRows?: Value;
  /** Adds to a projection's output (LoRA: src/student/lora.ts); absent: plain projections. */
  adapter?: ProjectionAdapter;
}

/**
 * Something added to a projection's output: `(module, input, scale)` → (N, out), or undefined where
 * the module is not adapted. `scale` is the projection's own (1/√hd for q_proj), to be applied too.
 */
export type ProjectionAdapter = (module: string, input: Value, scale: number) => Value | undefined;

export interface LlamaForwardResult {
  /** (B·S, V), or (K, V) with `headRows`: the rows a cross-entropy wants. */
  logitsRows: Value;
  /** (B, S, V); absent with `headRows`. */
  logits?: Value;
  /** Cached mode: every layer's keys and values over P+S positions; empty in training. */
  present: KeyValue[];
  /** What each mixture-of-experts layer's router did (empty for a dense student). */
  routing: RouterOutputs[];
}

interface LayerContext extends ProjectionContext {
  batch: Dimension;
  length: Dimension;
  rotary: RotaryTables;
  bias: Value;
  fusable: boolean;
  /** Filled by the MoE layers as the forward runs. */
  routing: RouterOutputs[];
}

/** What `projection` needs: the graph, the architecture and the parameters by Hugging Face name. */
export interface ProjectionContext {
  g: Graph;
  architecture: StudentArchitecture;
  weight: (name: string) => Value;
  adapter?: ProjectionAdapter;
}

/** Every parameter with its shape; norms and biases take no weight decay. */
export function llamaParameterSpecs(architecture: StudentArchitecture): ParameterSpec[] {
  return [...studentWeightShapes(architecture)].map(([name, shape]) => ({
    name,
    shape,
    decay: !name.endsWith('norm.weight') && !name.endsWith('.bias'),
  }));
}

/**
 * RMSNorm x / sqrt(mean(x²) + ε) · w over the last axis. For cached decoding x² is Pow(x, 2), so
 * Pow → ReduceMean → Add → Sqrt → Div → Mul is the pattern onnxruntime fuses into one
 * SimplifiedLayerNormalization kernel. Training cannot fuse it (the backward needs the
 * intermediates), and there onnxruntime's Pow with a scalar exponent costs about 1.5 ms per
 * (2048, 128) tensor against about 0.1 ms for Mul(x, x) — 8% of a micro step — so training
 * squares with Mul. x (…, C), w (C) → (…, C).
 */
function rmsNorm(g: Graph, x: Value, weight: Value, epsilon: number, fusable: boolean): Value {
  const square = fusable ? g.pow(x, 2) : g.mul(x, x); // (…, C)
  const meanSquare = g.reduceMean(square, [-1], true); // (…, 1)
  return g.mul(g.div(x, g.sqrt(g.add(meanSquare, epsilon))), weight); // (…, C)
}

/** y (N, out) = scale · x (N, in) · Wᵀ for a Hugging Face Linear weight W (out, in). */
function linear(g: Graph, x: Value, weight: Value, scale = 1): Value {
  return g.gemm(x, weight, null, { transposeB: true, alpha: scale });
}

/**
 * The one place every Linear of a decoder layer runs (q/k/v/o_proj, gate/up/down_proj):
 * y (N, out) = scale · (x (N, in) · Wᵀ + b) for the module `module` (its Hugging Face path, e.g.
 * `model.layers.0.self_attn.q_proj`), with the bias b when the architecture has one. One Gemm
 * either way: the bias rides in Gemm's C input with beta = scale.
 */
export function projection(context: ProjectionContext, module: string, input: Value, scale = 1): Value {
  const { g, architecture, weight } = context;
  const name = module.slice(module.lastIndexOf('.') + 1) as ProjectionName;
  const bias = hasProjectionBias(architecture, name) ? weight(`${module}.bias`) : null;
  const base = g.gemm(input, weight(`${module}.weight`), bias, {
    transposeB: true,
    alpha: scale,
    beta: scale,
  }); // (N, out)
  const delta = context.adapter?.(module, input, scale); // (N, out)
  return delta === undefined ? base : g.add(base, delta);
}

/**
 * Queries, keys and values of one layer, rotated: (B, S, H, hd), (B, S, kvH, hd), (B, S, kvH, hd).
 * 1/√hd is folded into the queries (into their Gemm, or after Qwen3's q_norm, which would undo it).
 */
function queryKeyValue(context: LayerContext, x: Value, layer: number): { q: Value; k: Value; v: Value } {
  const { g, architecture, weight, batch, length, rotary } = context;
  const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, rmsNormEps } = architecture;
  const hd = headDimension(architecture);
  const scale = 1 / Math.sqrt(hd);
  const prefix = `model.layers.${layer}.self_attn`;
  const normed = architecture.queryKeyNorm === true;
  let q = g.reshape(projection(context, `${prefix}.q_proj`, x, normed ? 1 : scale), [
    batch,
    length,
    heads,
    hd,
  ]); // (B, S, H, hd)
  let k = g.reshape(projection(context, `${prefix}.k_proj`, x), [batch, length, kvHeads, hd]); // (B, S, kvH, hd)
  if (normed) {
    // Qwen3: RMSNorm over each head's hd values, before the rotation.
    q = g.mul(rmsNorm(g, q, weight(`${prefix}.q_norm.weight`), rmsNormEps, context.fusable), scale); // (B, S, H, hd)
    k = rmsNorm(g, k, weight(`${prefix}.k_norm.weight`), rmsNormEps, context.fusable); // (B, S, kvH, hd)
  }
  const v = g.reshape(projection(context, `${prefix}.v_proj`, x), [batch, length, kvHeads, hd]); // (B, S, kvH, hd)
  return { q: applyRotary(g, q, rotary), k: applyRotary(g, k, rotary), v };
}

function attention(
  context: LayerContext,
  x: Value,
  layer: number,
  past?: KeyValue,
  rows?: Value,
): { out: Value; present: KeyValue } {
  const { g, architecture, batch, length, bias } = context;
  const { numAttentionHeads: heads, numKeyValueHeads: kvHeads } = architecture;
  const hd = headDimension(architecture);
  const group = heads / kvHeads;
  const { q, k, v } = queryKeyValue(context, x, layer);
  // Query head h = kvHead·group + j reads key/value head kvHead, as Hugging Face's repeat_kv does.
  const queries = g.transpose(g.reshape(q, [batch, length, kvHeads, group, hd]), [0, 2, 3, 1, 4]); // (B, kvH, group, S, hd)
  const keys = g.transpose(k, [0, 2, 1, 3]); // (B, kvH, S, hd)
  const values = g.transpose(v, [0, 2, 1, 3]); // (B, kvH, S, hd)
  let attended: Value; // (B, kvH, group, S, hd)
  let present = { key: keys, value: values };
  if (past === undefined) {
    const keysTransposed = g.unsqueeze(g.transposeLastTwo(keys), [2]); // (B, kvH, 1, hd, S)
    const scores = g.add(g.matmul(queries, keysTransposed), bias); // (B, kvH, group, S, S)
    attended = g.matmul(g.softmax(scores, -1), g.unsqueeze(values, [2])); // (B, kvH, group, S, hd)
  } else {
    const pastLength = past.key.shape[2]!;
    attended = cachedAttention(g, {
      queries,
      keys,
      values,
      pastKeys: past.key,
      pastValues: past.value,
      bias,
      batch,
      length,
      pastLength,
      totalLength: decoderDimensions.total,
    });
    // The Hugging Face layout's cache outputs; the attention above does not read them.
    const totalShape = [batch, kvHeads, decoderDimensions.total, hd];
    const concat = (cached: Value, fresh: Value): Value =>
      g.addNode('Concat', [cached, fresh], [{ dataType: 'float32', shape: totalShape }], {
        axis: { kind: 'int', value: 2 },
      })[0];
    present = { key: concat(past.key, keys), value: concat(past.value, values) }; // (B, kvH, P+S, hd)
  }
  const merged = g.reshape(g.transpose(attended, [0, 3, 1, 2, 4]), [-1, heads * hd]); // (B·S, H·hd)
  const kept = rows === undefined ? merged : g.gather(merged, rows, 0); // (B·S or K, H·hd)
  const out = projection(context, `model.layers.${layer}.self_attn.o_proj`, kept); // (B·S or K, C)
  return { out, present };
}

/** The layer's MLP: a dense SwiGLU, or Mixtral's routed experts where `architecture.moe` says so. */
function mlp(context: LayerContext, x: Value, layer: number): Value {
  const { g, architecture } = context;
  if (architecture.moe !== undefined && isMixtureLayer(architecture.moe, layer)) {
    const { moe, intermediateSize } = architecture;
    const mixture = mixtureOfExperts({ g, weight: context.weight, moe, intermediateSize }, x, layer); // (B·S, C)
    context.routing.push(mixture.routing);
    return mixture.out;
  }
  const prefix = `model.layers.${layer}.mlp`;
  const gate = projection(context, `${prefix}.gate_proj`, x); // (B·S, F)
  const activated = g.mul(gate, g.sigmoid(gate)); // (B·S, F): silu
  const up = projection(context, `${prefix}.up_proj`, x); // (B·S, F)
  return projection(context, `${prefix}.down_proj`, g.mul(activated, up)); // (B·S, C)
}

function rotaryTables(g: Graph, architecture: StudentArchitecture, inputs: LlamaForwardInputs): RotaryTables {
  const frequencies = architectureInverseFrequencies(architecture);
  if (inputs.positionIds !== undefined) return rotaryTablesFromPositions(g, inputs.positionIds, frequencies);
  const length = inputs.inputIds.shape[1];
  if (typeof length !== 'number')
    throw new Error(
      'llamaForward: without position ids the sequence length must be static; pass positionIds',
    );
  return constantRotaryTables(g, length, frequencies);
}

function attentionBias(g: Graph, inputs: LlamaForwardInputs): Value {
  if (inputs.cache !== undefined) {
    const [, newLength] = inputs.inputIds.shape;
    const pastLength = inputs.cache.past[0]?.key.shape[2];
    if (typeof newLength !== 'string' || typeof pastLength !== 'string')
      throw new Error('llamaForward: cached decoding needs symbolic new and past lengths');
    return cachedCausalBias(g, { attentionMask: inputs.cache.attentionMask, newLength, pastLength });
  }
  if (inputs.attentionBias !== undefined) return inputs.attentionBias;
  const length = inputs.inputIds.shape[1];
  if (typeof length !== 'number')
    throw new Error('llamaForward: training with a symbolic length needs an attentionBias');
  return causalBias(g, length);
}

/** The decoder forward pass (both modes; see the file comment). `parameters` maps HF names to values. */
export function llamaForward(
  g: Graph,
  architecture: StudentArchitecture,
  parameters: ReadonlyMap<string, Value>,
  inputs: LlamaForwardInputs,
): LlamaForwardResult {
  const weight = (name: string): Value => {
    const value = parameters.get(name);
    if (value === undefined) throw new Error(`llamaForward: no parameter named '${name}'`);
    return value;
  };
  if (inputs.cache !== undefined && inputs.cache.past.length !== architecture.numHiddenLayers)
    throw new Error(
      `llamaForward: ${inputs.cache.past.length} cache entries for ${architecture.numHiddenLayers} layers`,
    );
  const [batch, length] = inputs.inputIds.shape;
  const { hiddenSize, vocabSize, rmsNormEps } = architecture;
  const fusable = inputs.cache !== undefined; // decoding: keep the fusable RMSNorm pattern
  const context: LayerContext = {
    g,
    architecture,
    weight,
    batch,
    length,
    rotary: rotaryTables(g, architecture, inputs),
    bias: attentionBias(g, inputs),
    fusable,
    adapter: inputs.adapter,
    routing: [],
  };
  const embedding = weight('model.embed_tokens.weight'); // (V, C)
  let x = g.reshape(g.gather(embedding, inputs.inputIds, 0), [-1, hiddenSize]); // (B·S, C)
  const present: KeyValue[] = [];
  const last = architecture.numHiddenLayers - 1;
  const early = gathersEarly(architecture, inputs);
  for (let layer = 0; layer < architecture.numHiddenLayers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    const normed = rmsNorm(g, x, weight(`${prefix}.input_layernorm.weight`), rmsNormEps, fusable); // (B·S, C)
    const rows = early && layer === last ? inputs.headRows : undefined; // (K)
    const attended = attention(context, normed, layer, inputs.cache?.past[layer], rows);
    if (inputs.cache !== undefined) present.push(attended.present);
    x = g.add(rows === undefined ? x : g.gather(x, rows, 0), attended.out); // (B·S or K, C)
    const mlpInput = rmsNorm(g, x, weight(`${prefix}.post_attention_layernorm.weight`), rmsNormEps, fusable); // (B·S or K, C)
    x = g.add(x, mlp(context, mlpInput, layer)); // (B·S or K, C)
  }
  const hidden = rmsNorm(g, x, weight('model.norm.weight'), rmsNormEps, fusable); // (B·S or K, C)
  const head = architecture.tieWordEmbeddings ? embedding : weight('lm_head.weight'); // (V, C)
  if (inputs.headRows !== undefined) {
    const headInput = early ? hidden : g.gather(hidden, inputs.headRows, 0); // (K, C)
    return { logitsRows: linear(g, headInput, head), present, routing: context.routing }; // (K, V)
  }
  const logitsRows = linear(g, hidden, head); // (B·S, V)
  const logits = g.reshape(logitsRows, [batch, length, vocabSize]); // (B, S, V)
  return { logitsRows, logits, present, routing: context.routing };
}

/**
 * Training with `headRows`: only the K loss positions of the last layer's output reach the loss.
 * Keys and values still come from every position, but the rows are gathered right after the last
 * attention, so its o_proj, MLP and the final norm run on K rows instead of B·S: the same numbers
 * for less work (the quickstart decomposer: K = 1,184 of 2,048 positions; with the planned K of
 * training-plan.ts, 7% less CPU time per step than before, bench/train-quickstart.ts).
 * Not when the last layer is a mixture: its balance loss averages over every token's routing.
 */
function gathersEarly(architecture: StudentArchitecture, inputs: LlamaForwardInputs): boolean {
  const { moe, numHiddenLayers } = architecture;
  return (
    inputs.headRows !== undefined &&
    inputs.cache === undefined &&
    !(moe !== undefined && isMixtureLayer(moe, numHiddenLayers - 1))
  );
}

/** Declares every parameter as a float32 graph input named as in Hugging Face (training mode). */
export function declareLlamaParameters(g: Graph, architecture: StudentArchitecture): Map<string, Value> {
  return new Map(
    llamaParameterSpecs(architecture).map((spec) => [spec.name, g.input(spec.name, 'float32', spec.shape)]),
  );
}

/**
 * The exported decoder with a KV cache (Hugging Face ONNX layout), weights as initializers under
 * their Hugging Face names.
 */
export function buildLlamaDecoderGraph(
  architecture: StudentArchitecture,
  weights: ReadonlyMap<string, Float32Array>,
): Graph {
  const g = new Graph('llama_decoder');
  const { batch, sequence, past, total } = decoderDimensions;
  const kvHeads = architecture.numKeyValueHeads;
  const hd = headDimension(architecture);
  const inputIds = g.input(decoderNames.inputIds, 'int64', [batch, sequence]); // (B, S)
  const attentionMask = g.input(decoderNames.attentionMask, 'int64', [batch, total]); // (B, P+S)
  const positionIds = g.input(decoderNames.positionIds, 'int64', [batch, sequence]); // (B, S)
  const pastEntries: KeyValue[] = [];
  for (let layer = 0; layer < architecture.numHiddenLayers; layer += 1) {
    pastEntries.push({
      key: g.input(decoderNames.pastKey(layer), 'float32', [batch, kvHeads, past, hd]), // (B, kvH, P, hd)
      value: g.input(decoderNames.pastValue(layer), 'float32', [batch, kvHeads, past, hd]), // (B, kvH, P, hd)
    });
  }
  const parameters = new Map<string, Value>();
  for (const [name, shape] of studentWeightShapes(architecture)) {
    const data = weights.get(name);
    if (data === undefined) throw new Error(`buildLlamaDecoderGraph: the weights lack '${name}'`);
    parameters.set(name, g.initializer(name, 'float32', shape, data));
  }
  const result = llamaForward(g, architecture, parameters, {
    inputIds,
    positionIds,
    cache: { attentionMask, past: pastEntries },
  });
  if (result.logits === undefined) throw new Error('buildLlamaDecoderGraph: the forward returned no logits');
  g.output(result.logits, decoderNames.logits);
  result.present.forEach((entry, layer) => {
    g.output(entry.key, decoderNames.presentKey(layer));
    g.output(entry.value, decoderNames.presentValue(layer));
  });
  return g;
}
