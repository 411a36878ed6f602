/**
 * The student's tensors, with Hugging Face Llama names and shapes (Linear weights are
 * (out, in): y = x Wᵀ), and their seeded random initialization.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import {
  hasProjectionBias,
  headDimension,
  projectionNames,
  type ProjectionName,
  type StudentArchitecture,
} from './config.js';
import { expertWeightName, isMixtureLayer, routerShapes } from './moe-config.js';

const mlpProjections: readonly ProjectionName[] = ['gate_proj', 'up_proj', 'down_proj'];

/** The module path of a projection within a layer (`self_attn.q_proj`, `mlp.up_proj`, ...). */
export function projectionModule(projection: ProjectionName): string {
  return projection === 'gate_proj' || projection === 'up_proj' || projection === 'down_proj'
    ? `mlp.${projection}`
    : `self_attn.${projection}`;
}

/**
 * Every trainable tensor's name and shape, in a fixed order (embedding, layers, final norm, untied
 * head): projection weights, their biases where the architecture has them, Qwen3's per-head q/k
 * norms and, without tied embeddings, `lm_head.weight`.
 */
export function studentWeightShapes(architecture: StudentArchitecture): Map<string, number[]> {
  const { vocabSize, hiddenSize, intermediateSize, numAttentionHeads, numKeyValueHeads } = architecture;
  const head = headDimension(architecture);
  const projectionShapes: Record<ProjectionName, [number, number]> = {
    q_proj: [numAttentionHeads * head, hiddenSize],
    k_proj: [numKeyValueHeads * head, hiddenSize],
    v_proj: [numKeyValueHeads * head, hiddenSize],
    o_proj: [hiddenSize, numAttentionHeads * head],
    gate_proj: [intermediateSize, hiddenSize],
    up_proj: [intermediateSize, hiddenSize],
    down_proj: [hiddenSize, intermediateSize],
  };
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [vocabSize, hiddenSize]]]);
  for (let layer = 0; layer < architecture.numHiddenLayers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.input_layernorm.weight`, [hiddenSize]);
    const mixture = isMixtureLayer(architecture.moe, layer);
    for (const projection of projectionNames) {
      if (projection === 'gate_proj') shapes.set(`${prefix}.post_attention_layernorm.weight`, [hiddenSize]);
      if (mixture && mlpProjections.includes(projection)) continue;
      const [outputs, inputs] = projectionShapes[projection];
      shapes.set(`${prefix}.${projectionModule(projection)}.weight`, [outputs, inputs]);
      if (hasProjectionBias(architecture, projection))
        shapes.set(`${prefix}.${projectionModule(projection)}.bias`, [outputs]);
      if (projection === 'k_proj' && architecture.queryKeyNorm === true) {
        shapes.set(`${prefix}.self_attn.q_norm.weight`, [head]);
        shapes.set(`${prefix}.self_attn.k_norm.weight`, [head]);
      }
    }
    if (mixture) setMixtureShapes(shapes, architecture, layer);
  }
  shapes.set('model.norm.weight', [hiddenSize]);
  if (!architecture.tieWordEmbeddings) shapes.set('lm_head.weight', [vocabSize, hiddenSize]);
  return shapes;
}

/** Mixtral's block_sparse_moe: the router gate (E, C), then each expert's w1 (F, C), w2 (C, F), w3 (F, C). */
function setMixtureShapes(
  shapes: Map<string, number[]>,
  architecture: StudentArchitecture,
  layer: number,
): void {
  const { hiddenSize, intermediateSize, moe } = architecture;
  if (moe === undefined) return;
  for (const [name, shape] of routerShapes(moe, hiddenSize, layer)) shapes.set(name, shape); // (E, C) or (E, D), (D, C)
  for (let expert = 0; expert < moe.experts; expert += 1) {
    shapes.set(expertWeightName(layer, expert, 'w1'), [intermediateSize, hiddenSize]);
    shapes.set(expertWeightName(layer, expert, 'w2'), [hiddenSize, intermediateSize]);
    shapes.set(expertWeightName(layer, expert, 'w3'), [intermediateSize, hiddenSize]);
  }
}

export interface InitializeOptions {
  /**
   * Divide the std of the projections that write into the residual stream (o_proj, down_proj) by
   * sqrt(2 × layers), as GPT-2 does. Default false (Hugging Face Llama's plain init).
   */
  scaleResidualProjections?: boolean;
}

/**
 * Seeded initialization as Hugging Face Llama does it: weight matrices and the embedding from
 * N(0, initializerRange²), norm weights 1, biases 0. The same seed always gives the same weights.
 */
export function initializeWeights(
  architecture: StudentArchitecture,
  seed: number,
  options: InitializeOptions = {},
): Map<string, Float32Array> {
  const random = xoroshiro128plus(seed);
  const standardNormal = (): number => {
    // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
    const radius = Math.sqrt(-2 * Math.log(1 - uniformFloat64(random)));
    return radius * Math.cos(2 * Math.PI * uniformFloat64(random));
  };
  const residualScale = options.scaleResidualProjections
    ? 1 / Math.sqrt(2 * architecture.numHiddenLayers)
    : 1;
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of studentWeightShapes(architecture)) {
    const values = new Float32Array(shape.reduce((product, size) => product * size, 1));
    if (name.endsWith('norm.weight')) {
      values.fill(1);
    } else if (name.endsWith('.bias')) {
      values.fill(0);
    } else {
      const isResidual =
        name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight') || name.endsWith('.w2.weight');
      const std = architecture.initializerRange * (isResidual ? residualScale : 1);
      for (let index = 0; index < values.length; index += 1) values[index] = std * standardNormal();
    }
    weights.set(name, values);
  }
  return weights;
}
