/**
 * The student's tensors, with Hugging Face Llama names and shapes (Linear weights are
 * (out, in): y = x Wᵀ), and their seeded random initialization.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { headDimension, type StudentArchitecture } from './config.js';

/** Every trainable tensor's name and shape, in a fixed order (embedding, layers, final norm). */
export function studentWeightShapes(architecture: StudentArchitecture): Map<string, number[]> {
  const { vocabSize, hiddenSize, intermediateSize, numAttentionHeads, numKeyValueHeads } = architecture;
  const head = headDimension(architecture);
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [vocabSize, hiddenSize]]]);
  for (let layer = 0; layer < architecture.numHiddenLayers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.input_layernorm.weight`, [hiddenSize]);
    shapes.set(`${prefix}.self_attn.q_proj.weight`, [numAttentionHeads * head, hiddenSize]);
    shapes.set(`${prefix}.self_attn.k_proj.weight`, [numKeyValueHeads * head, hiddenSize]);
    shapes.set(`${prefix}.self_attn.v_proj.weight`, [numKeyValueHeads * head, hiddenSize]);
    shapes.set(`${prefix}.self_attn.o_proj.weight`, [hiddenSize, numAttentionHeads * head]);
    shapes.set(`${prefix}.post_attention_layernorm.weight`, [hiddenSize]);
    shapes.set(`${prefix}.mlp.gate_proj.weight`, [intermediateSize, hiddenSize]);
    shapes.set(`${prefix}.mlp.up_proj.weight`, [intermediateSize, hiddenSize]);
    shapes.set(`${prefix}.mlp.down_proj.weight`, [hiddenSize, intermediateSize]);
  }
  shapes.set('model.norm.weight', [hiddenSize]);
  return shapes;
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
 * N(0, initializerRange²), norm weights 1. The same seed always gives the same weights.
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
    } else {
      const isResidual = name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight');
      const std = architecture.initializerRange * (isResidual ? residualScale : 1);
      for (let index = 0; index < values.length; index += 1) values[index] = std * standardNormal();
    }
    weights.set(name, values);
  }
  return weights;
}
