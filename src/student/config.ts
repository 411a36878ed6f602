/**
 * Student presets (`students/*.json`): a Llama-style decoder architecture, named as in Hugging Face
 * `LlamaConfig` (camelCase), plus the trainer's defaults for it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { formatZodError } from '../data/zod-format.js';
import {
  cosineRouterDefaults,
  isMixtureLayer,
  mixtureOfExpertsSchema,
  routerParameterCount,
  routerRowWidth,
} from './moe-config.js';

const positiveInteger = z.number().int().positive();

/** The Hugging Face `model_type`s whose forward dnc implements (src/student/llama-graph.ts). */
export const supportedModelTypes = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
export type ModelType = (typeof supportedModelTypes)[number];

/** The Linear modules of a decoder layer, by their Hugging Face names. */
export const projectionNames = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export type ProjectionName = (typeof projectionNames)[number];

/**
 * Llama 3 rotary scaling (`rope_scaling` `{ rope_type: "llama3", ... }` in config.json): the
 * inverse frequencies are rescaled once, as Hugging Face `_compute_llama3_parameters` does.
 */
export const llama3RopeScalingSchema = z.strictObject({
  ropeType: z.literal('llama3'),
  factor: z.number().positive(),
  lowFreqFactor: z.number().positive(),
  highFreqFactor: z.number().positive(),
  originalMaxPositionEmbeddings: positiveInteger,
});
export type Llama3RopeScaling = z.infer<typeof llama3RopeScalingSchema>;

export const studentArchitectureSchema = z
  .strictObject({
    /** The Hugging Face model family (absent: `llama`, as the from-scratch presets are). */
    modelType: z.enum(supportedModelTypes).optional(),
    vocabSize: positiveInteger,
    hiddenSize: positiveInteger,
    intermediateSize: positiveInteger,
    numHiddenLayers: positiveInteger,
    numAttentionHeads: positiveInteger,
    numKeyValueHeads: positiveInteger,
    /** Size of one attention head; default hiddenSize / numAttentionHeads (Qwen3 sets its own). */
    headDim: positiveInteger.optional(),
    /** Context length: the longest sequence the model takes. */
    maxPositionEmbeddings: positiveInteger,
    ropeTheta: z.number().positive(),
    ropeScaling: llama3RopeScalingSchema.optional(),
    rmsNormEps: z.number().positive(),
    /** Standard deviation of the normal initialization of weight matrices. */
    initializerRange: z.number().positive().default(0.02),
    /** true: the head reuses `model.embed_tokens.weight`; false: a separate `lm_head.weight`. */
    tieWordEmbeddings: z.boolean(),
    /** Projections with a bias vector (`….bias`): Qwen2's q/k/v, Llama's `attention_bias`/`mlp_bias`. */
    biasedProjections: z.array(z.enum(projectionNames)).optional(),
    /** Qwen3: RMSNorm over each head of q and k (`q_norm`, `k_norm`) before the rotation. */
    queryKeyNorm: z.boolean().optional(),
    /** Sparse mixture-of-experts MLPs (Mixtral's block_sparse_moe) in some or all layers. */
    moe: mixtureOfExpertsSchema.optional(),
    /**
     * The pretrained base's own config.json (as read): an export writes it back, with dnc's changes
     * on top, so that Hugging Face tools load the brick as the base's architecture.
     */
    huggingFaceConfig: z.record(z.string(), z.unknown()).optional(),
  })
  .refine(
    (architecture) =>
      architecture.headDim !== undefined || architecture.hiddenSize % architecture.numAttentionHeads === 0,
    {
      message: 'hiddenSize must be divisible by numAttentionHeads',
    },
  )
  .refine((architecture) => headDimension(architecture) % 2 === 0, {
    message:
      'the head dimension (headDim, or hiddenSize / numAttentionHeads) must be even for rotary embeddings',
  })
  .refine((architecture) => architecture.numAttentionHeads % architecture.numKeyValueHeads === 0, {
    message: 'numAttentionHeads must be a multiple of numKeyValueHeads (grouped-query attention)',
  })
  .refine(
    (architecture) => (architecture.moe?.layers ?? []).every((layer) => layer < architecture.numHiddenLayers),
    { message: 'moe.layers lists a layer at or beyond numHiddenLayers (layers count from 0)' },
  )
  .refine(
    (architecture) =>
      architecture.moe === undefined ||
      !(architecture.biasedProjections ?? []).some((name) =>
        ['gate_proj', 'up_proj', 'down_proj'].includes(name),
      ),
    { message: 'moe experts have no biases: remove gate_proj/up_proj/down_proj from biasedProjections' },
  );

export const trainingDefaultsSchema = z.strictObject({
  learningRate: z.number().positive(),
  warmupSteps: z.number().int().nonnegative(),
  /** Sequences per optimizer step. */
  batchSize: positiveInteger,
  /** Tokens per training sequence (at most the context length). */
  sequenceLength: positiveInteger,
  weightDecay: z.number().nonnegative(),
  /** Global gradient-norm clip. */
  gradientClip: z.number().positive(),
  evalEvery: positiveInteger,
  checkpointEvery: positiveInteger,
  /** Training stops after `maxSteps` optimizer steps or `epochs` passes over the data, whichever comes first. */
  maxSteps: positiveInteger,
  epochs: positiveInteger,
  seed: z.number().int().nonnegative(),
});

export const studentPresetSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string(),
    architecture: studentArchitectureSchema,
    training: trainingDefaultsSchema,
  })
  .refine((preset) => preset.training.sequenceLength <= preset.architecture.maxPositionEmbeddings, {
    message: 'training.sequenceLength must not exceed architecture.maxPositionEmbeddings',
  });

export type StudentArchitecture = z.infer<typeof studentArchitectureSchema>;
export type TrainingDefaults = z.infer<typeof trainingDefaultsSchema>;
export type StudentPreset = z.infer<typeof studentPresetSchema>;

/** The project's `students/` directory. */
export const presetDirectory = fileURLToPath(new URL('../../students/', import.meta.url));

/** The size of one attention head (Qwen3 states it; the others derive it). */
export function headDimension(architecture: {
  headDim?: number;
  hiddenSize: number;
  numAttentionHeads: number;
}): number {
  return architecture.headDim ?? architecture.hiddenSize / architecture.numAttentionHeads;
}

async function listPresets(): Promise<string[]> {
  const files = await readdir(presetDirectory).catch(() => [] as string[]);
  return files
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

/** Loads a preset by name (`nano`, `tiny`, `small`) or from a path to a preset JSON file. */
/** Whether a projection of every layer carries a bias vector. */
export const hasProjectionBias = (architecture: StudentArchitecture, projection: ProjectionName): boolean =>
  architecture.biasedProjections?.includes(projection) ?? false;

export async function loadPreset(nameOrPath: string): Promise<StudentPreset> {
  const isPath = nameOrPath.endsWith('.json') || nameOrPath.includes('/');
  const file = isPath ? nameOrPath : join(presetDirectory, `${nameOrPath}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const known = (await listPresets()).join(', ');
    const hint = isPath ? 'check the path' : `use one of: ${known}, or a path to a preset JSON file`;
    throw new UserError(`unknown student preset "${nameOrPath}" (${file} not readable); ${hint}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file}: invalid JSON (${(error as Error).message}); fix the preset file`, {
      cause: error,
    });
  }
  const parsed = studentPresetSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`${file}: invalid student preset: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

/** Trainable parameters (tied embeddings counted once). */
export function countParameters(architecture: StudentArchitecture): number {
  const { vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads } =
    architecture;
  const head = headDimension(architecture);
  const outputs: Record<ProjectionName, number> = {
    q_proj: numAttentionHeads * head,
    k_proj: numKeyValueHeads * head,
    v_proj: numKeyValueHeads * head,
    o_proj: hiddenSize,
    gate_proj: intermediateSize,
    up_proj: intermediateSize,
    down_proj: hiddenSize,
  };
  const attention = hiddenSize * head * (2 * numAttentionHeads + 2 * numKeyValueHeads);
  const mlp = 3 * hiddenSize * intermediateSize;
  const biases = (architecture.biasedProjections ?? []).reduce((sum, name) => sum + outputs[name], 0);
  const norms = 2 * hiddenSize + (architecture.queryKeyNorm === true ? 2 * head : 0);
  const untiedHead = architecture.tieWordEmbeddings ? 0 : vocabSize * hiddenSize;
  const { moe } = architecture;
  let mixtures = 0; // extra parameters of MoE layers over a dense MLP: (E − 1) experts and the router
  for (let layer = 0; layer < numHiddenLayers; layer += 1)
    if (moe !== undefined && isMixtureLayer(moe, layer))
      mixtures += (moe.experts - 1) * mlp + routerParameterCount(moe, hiddenSize);
  return (
    vocabSize * hiddenSize +
    numHiddenLayers * (attention + mlp + biases + norms) +
    mixtures +
    hiddenSize +
    untiedHead
  );
}

export interface ConfigTokenIds {
  bos: number | null;
  eos: number | number[] | null;
  pad: number | null;
}

/** The Hugging Face `config.json` of a from-scratch student (loads as `LlamaForCausalLM`). */
function llamaHuggingFaceConfig(architecture: StudentArchitecture, tokenIds: ConfigTokenIds) {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: architecture.vocabSize,
    hidden_size: architecture.hiddenSize,
    intermediate_size: architecture.intermediateSize,
    num_hidden_layers: architecture.numHiddenLayers,
    num_attention_heads: architecture.numAttentionHeads,
    num_key_value_heads: architecture.numKeyValueHeads,
    head_dim: headDimension(architecture),
    max_position_embeddings: architecture.maxPositionEmbeddings,
    rope_theta: architecture.ropeTheta,
    rope_scaling: null,
    rms_norm_eps: architecture.rmsNormEps,
    initializer_range: architecture.initializerRange,
    hidden_act: 'silu',
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    pretraining_tp: 1,
    tie_word_embeddings: architecture.tieWordEmbeddings,
    bos_token_id: tokenIds.bos,
    eos_token_id: tokenIds.eos,
    pad_token_id: tokenIds.pad,
    use_cache: true,
    torch_dtype: 'float32',
  };
}

/**
 * The `config.json` of a from-scratch MoE student (loads as `MixtralForCausalLM` when every layer is
 * a mixture with the softmax router; with `moe.layers` a subset, `dnc_moe_layers` lists them, and a
 * sigmoid router is `dnc_router`: Hugging Face Mixtral, which has neither dense layers nor that
 * router, would compute another function, while dnc's runtime runs the exported ONNX as trained).
 */
function mixtralHuggingFaceConfig(architecture: StudentArchitecture, tokenIds: ConfigTokenIds) {
  const moe = architecture.moe;
  if (moe === undefined) throw new Error('mixtralHuggingFaceConfig: the architecture has no moe');
  const shared: Record<string, unknown> = { ...llamaHuggingFaceConfig(architecture, tokenIds) };
  for (const key of ['architectures', 'model_type', 'attention_bias', 'mlp_bias', 'pretraining_tp'])
    delete shared[key];
  return {
    architectures: ['MixtralForCausalLM'],
    model_type: 'mixtral',
    ...shared,
    num_local_experts: moe.experts,
    num_experts_per_tok: moe.topK,
    router_aux_loss_coef: moe.balanceLoss,
    router_jitter_noise: 0,
    output_router_logits: false,
    sliding_window: null,
    ...(moe.layers === undefined ? {} : { dnc_moe_layers: moe.layers }),
    ...(moe.router === 'softmax' ? {} : { dnc_router: moe.router }),
    ...(moe.router === 'cosine'
      ? {
          dnc_router_dimension: routerRowWidth(moe, architecture.hiddenSize),
          dnc_router_temperature: moe.routerTemperature ?? cosineRouterDefaults.temperature,
        }
      : {}),
  };
}

/**
 * The Hugging Face `config.json` of a student: a from-scratch student is a `LlamaForCausalLM`; a
 * student of a pretrained base is the base's own config.json (its `model_type`, architectures and
 * every field it had), with the weights now float32. Token ids given here replace the base's.
 */
export function toHuggingFaceConfig(
  architecture: StudentArchitecture,
  tokenIds: ConfigTokenIds,
): Record<string, unknown> {
  if (architecture.huggingFaceConfig === undefined && architecture.moe !== undefined)
    return mixtralHuggingFaceConfig(architecture, tokenIds);
  if (architecture.huggingFaceConfig === undefined) return llamaHuggingFaceConfig(architecture, tokenIds);
  return {
    ...architecture.huggingFaceConfig,
    bos_token_id: tokenIds.bos,
    eos_token_id: tokenIds.eos,
    pad_token_id: tokenIds.pad,
    torch_dtype: 'float32',
  };
}
