/**
 * A plain-TypeScript forward pass of the student (a Hugging Face `LlamaForCausalLM`, and the
 * Mistral / Qwen2 / Qwen3 variants): slow, written for clarity, with no shared code with the ONNX
 * graph builder. It is the independent check that the training graph and the exported model
 * compute what those models compute.
 *
 * Per layer: h = x + o_proj(attention(rope(qn(q_proj(n))), rope(kn(k_proj(n))), v_proj(n))) with
 * n = RMSNorm(x) (qn, kn: Qwen3's per-head RMSNorm, identity elsewhere; projections add their bias
 * where the architecture has one); then out = h + down_proj(silu(gate_proj(m)) * up_proj(m)) with
 * m = RMSNorm(h). Logits = RMSNorm(out) · Wᵀ with W = lm_head, or embed_tokens when tied.
 */
import { headDimension, type StudentArchitecture } from './config.js';
import { studentWeightShapes } from './initialize.js';

/** y (rows, out) = x (rows, in) · Wᵀ with W stored (out, in), as torch.nn.Linear does. */
function linear(
  x: Float32Array,
  weight: Float32Array,
  rows: number,
  inputs: number,
  outputs: number,
  bias?: Float32Array,
): Float32Array {
  const y = new Float32Array(rows * outputs);
  for (let row = 0; row < rows; row += 1) {
    for (let output = 0; output < outputs; output += 1) {
      let sum = bias === undefined ? 0 : bias[output];
      for (let input = 0; input < inputs; input += 1)
        sum += x[row * inputs + input] * weight[output * inputs + input];
      y[row * outputs + output] = sum;
    }
  }
  return y;
}

/** x / sqrt(mean(x²) + eps) · w, row by row. */
function rmsNorm(
  x: Float32Array,
  weight: Float32Array,
  rows: number,
  size: number,
  eps: number,
): Float32Array {
  const y = new Float32Array(rows * size);
  for (let row = 0; row < rows; row += 1) {
    let sumOfSquares = 0;
    for (let index = 0; index < size; index += 1) sumOfSquares += x[row * size + index] ** 2;
    const scale = 1 / Math.sqrt(sumOfSquares / size + eps);
    for (let index = 0; index < size; index += 1)
      y[row * size + index] = x[row * size + index] * scale * weight[index];
  }
  return y;
}

/**
 * theta^(-2j/headSize), rescaled for Llama 3 rope scaling as transformers' `_compute_llama3_parameters`
 * does: long wavelengths (> original / lowFreqFactor) divided by factor, short ones
 * (< original / highFreqFactor) kept, the band between blended by
 * smooth = (original / wavelength − lowFreqFactor) / (highFreqFactor − lowFreqFactor).
 */
export function referenceInverseFrequencies(config: StudentArchitecture): number[] {
  const headSize = headDimension(config);
  const frequencies: number[] = [];
  for (let j = 0; j < headSize / 2; j += 1) frequencies.push(1 / config.ropeTheta ** ((2 * j) / headSize));
  const scaling = config.ropeScaling;
  if (scaling === undefined) return frequencies;
  return frequencies.map((frequency) => {
    const wavelength = (2 * Math.PI) / frequency;
    const scaled =
      wavelength > scaling.originalMaxPositionEmbeddings / scaling.lowFreqFactor
        ? frequency / scaling.factor
        : frequency;
    const smooth =
      (scaling.originalMaxPositionEmbeddings / wavelength - scaling.lowFreqFactor) /
      (scaling.highFreqFactor - scaling.lowFreqFactor);
    const medium =
      !(wavelength < scaling.originalMaxPositionEmbeddings / scaling.highFreqFactor) &&
      !(wavelength > scaling.originalMaxPositionEmbeddings / scaling.lowFreqFactor);
    return medium ? ((1 - smooth) * scaled) / scaling.factor + smooth * scaled : scaled;
  });
}

/**
 * Rotary embedding in place, Hugging Face "rotate_half" convention: within each head, element j of
 * the first half pairs with element j of the second half, at angle position · theta^(-2j/headSize)
 * (or position · frequencies[j] when the frequencies are given).
 */
export function applyRotary(
  x: Float32Array,
  rows: number,
  heads: number,
  headSize: number,
  theta: number,
  frequencies?: readonly number[],
): void {
  const half = headSize / 2;
  for (let position = 0; position < rows; position += 1) {
    for (let head = 0; head < heads; head += 1) {
      const base = (position * heads + head) * headSize;
      for (let j = 0; j < half; j += 1) {
        const angle = position * (frequencies?.[j] ?? 1 / theta ** ((2 * j) / headSize));
        const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
        const [first, second] = [x[base + j], x[base + j + half]];
        x[base + j] = first * cos - second * sin;
        x[base + j + half] = second * cos + first * sin;
      }
    }
  }
}

interface AttentionShape {
  rows: number;
  heads: number;
  keyValueHeads: number;
  headSize: number;
}

/** Causal softmax attention; query head h reads key/value head floor(h / (heads / keyValueHeads)). */
function causalAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  shape: AttentionShape,
): Float32Array {
  const { rows, heads, keyValueHeads, headSize } = shape;
  const group = heads / keyValueHeads;
  const out = new Float32Array(rows * heads * headSize);
  const scores = new Float64Array(rows);
  for (let head = 0; head < heads; head += 1) {
    const keyValueHead = Math.floor(head / group);
    for (let query = 0; query < rows; query += 1) {
      const queryBase = (query * heads + head) * headSize;
      let maximum = -Infinity;
      for (let key = 0; key <= query; key += 1) {
        const keyBase = (key * keyValueHeads + keyValueHead) * headSize;
        let dot = 0;
        for (let index = 0; index < headSize; index += 1) dot += q[queryBase + index] * k[keyBase + index];
        scores[key] = dot / Math.sqrt(headSize);
        maximum = Math.max(maximum, scores[key]);
      }
      let total = 0;
      for (let key = 0; key <= query; key += 1) total += scores[key] = Math.exp(scores[key] - maximum);
      for (let key = 0; key <= query; key += 1) {
        const valueBase = (key * keyValueHeads + keyValueHead) * headSize;
        const weight = scores[key] / total;
        for (let index = 0; index < headSize; index += 1)
          out[queryBase + index] += weight * v[valueBase + index];
      }
    }
  }
  return out;
}

function addInPlace(target: Float32Array, addend: Float32Array): void {
  for (let index = 0; index < target.length; index += 1) target[index] += addend[index];
}

type WeightLookup = (name: string) => Float32Array;
type OptionalLookup = (name: string) => Float32Array | undefined;

function attentionBlock(
  config: StudentArchitecture,
  weight: WeightLookup,
  optional: OptionalLookup,
  x: Float32Array,
  rows: number,
  layer: number,
) {
  const { hiddenSize: size, numAttentionHeads: heads, numKeyValueHeads: keyValueHeads, ropeTheta } = config;
  const headSize = headDimension(config);
  const prefix = `model.layers.${layer}`;
  const project = (name: string, input: Float32Array, inputs: number, outputs: number): Float32Array =>
    linear(
      input,
      weight(`${prefix}.self_attn.${name}.weight`),
      rows,
      inputs,
      outputs,
      optional(`${prefix}.self_attn.${name}.bias`),
    );
  const normed = rmsNorm(x, weight(`${prefix}.input_layernorm.weight`), rows, size, config.rmsNormEps);
  let q = project('q_proj', normed, size, heads * headSize);
  let k = project('k_proj', normed, size, keyValueHeads * headSize);
  const v = project('v_proj', normed, size, keyValueHeads * headSize);
  const queryNorm = optional(`${prefix}.self_attn.q_norm.weight`);
  const keyNorm = optional(`${prefix}.self_attn.k_norm.weight`);
  if (queryNorm !== undefined && keyNorm !== undefined) {
    q = rmsNorm(q, queryNorm, rows * heads, headSize, config.rmsNormEps);
    k = rmsNorm(k, keyNorm, rows * keyValueHeads, headSize, config.rmsNormEps);
  }
  const frequencies = referenceInverseFrequencies(config);
  applyRotary(q, rows, heads, headSize, ropeTheta, frequencies);
  applyRotary(k, rows, keyValueHeads, headSize, ropeTheta, frequencies);
  const attended = causalAttention(q, k, v, { rows, heads, keyValueHeads, headSize });
  return project('o_proj', attended, heads * headSize, size);
}

function mlpBlock(
  config: StudentArchitecture,
  weight: WeightLookup,
  optional: OptionalLookup,
  x: Float32Array,
  rows: number,
  layer: number,
) {
  const { hiddenSize: size, intermediateSize: inner } = config;
  const prefix = `model.layers.${layer}`;
  const normed = rmsNorm(
    x,
    weight(`${prefix}.post_attention_layernorm.weight`),
    rows,
    size,
    config.rmsNormEps,
  );
  const project = (name: string, input: Float32Array, inputs: number, outputs: number): Float32Array =>
    linear(
      input,
      weight(`${prefix}.mlp.${name}.weight`),
      rows,
      inputs,
      outputs,
      optional(`${prefix}.mlp.${name}.bias`),
    );
  const gate = project('gate_proj', normed, size, inner);
  const up = project('up_proj', normed, size, inner);
  for (let index = 0; index < gate.length; index += 1)
    gate[index] = (gate[index] / (1 + Math.exp(-gate[index]))) * up[index];
  return project('down_proj', gate, inner, size);
}

/** Checks that every tensor is present with the right number of values; returns a lookup. */
function weightLookup(config: StudentArchitecture, weights: Map<string, Float32Array>): WeightLookup {
  for (const [name, shape] of studentWeightShapes(config)) {
    const expected = shape.reduce((product, size) => product * size, 1);
    const actual = weights.get(name)?.length;
    if (actual !== expected) {
      throw new Error(
        `weight ${name}: expected ${expected} values (shape ${JSON.stringify(shape)}), got ${actual ?? 'none'}`,
      );
    }
  }
  return (name) => weights.get(name) as Float32Array;
}

/** Logits (T × vocabSize, row-major) for the tokens `inputIds` at positions 0..T-1. */
export function referenceForward(
  config: StudentArchitecture,
  weights: Map<string, Float32Array>,
  inputIds: readonly number[],
): Float32Array {
  const weight = weightLookup(config, weights);
  const optional: OptionalLookup = (name) => (weights.has(name) ? weight(name) : undefined);
  const { hiddenSize: size, vocabSize } = config;
  const rows = inputIds.length;
  if (rows > config.maxPositionEmbeddings)
    throw new Error(`${rows} tokens exceed the context of ${config.maxPositionEmbeddings}`);
  const embedding = weight('model.embed_tokens.weight');
  const x = new Float32Array(rows * size);
  inputIds.forEach((id, row) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
      throw new Error(`token id ${id} is outside 0..${vocabSize - 1}`);
    x.set(embedding.subarray(id * size, (id + 1) * size), row * size);
  });
  for (let layer = 0; layer < config.numHiddenLayers; layer += 1) {
    addInPlace(x, attentionBlock(config, weight, optional, x, rows, layer));
    addInPlace(x, mlpBlock(config, weight, optional, x, rows, layer));
  }
  const normed = rmsNorm(x, weight('model.norm.weight'), rows, size, config.rmsNormEps);
  const head = config.tieWordEmbeddings ? embedding : weight('lm_head.weight');
  return linear(normed, head, rows, size, vocabSize);
}
