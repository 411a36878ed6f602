/**
 * A Hugging Face `config.json` (LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config) read with zod
 * and turned into a dnc student architecture. Defaults are the transformers library's own for each
 * `model_type`, so a field left out means what it means to Hugging Face. Whatever dnc cannot run
 * (another model_type, another rope scaling, another activation) fails here, in one line, before
 * any weight is read.
 */
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { formatZodError } from '../data/zod-format.js';
import {
  studentArchitectureSchema,
  supportedModelTypes,
  type Llama3RopeScaling,
  type ModelType,
  type ProjectionName,
  type StudentArchitecture,
} from './config.js';

const count = z.number().int().positive();

/** The fields dnc reads; every other field is kept as it is and written back on export. */
const huggingFaceConfigSchema = z.looseObject({
  model_type: z.string(),
  vocab_size: count,
  hidden_size: count,
  intermediate_size: count,
  num_hidden_layers: count,
  num_attention_heads: count,
  num_key_value_heads: count.nullish(),
  head_dim: count.nullish(),
  max_position_embeddings: count,
  rope_theta: z.number().positive().nullish(),
  rope_scaling: z.looseObject({ rope_type: z.string().optional(), type: z.string().optional() }).nullish(),
  rms_norm_eps: z.number().positive().nullish(),
  hidden_act: z.string().nullish(),
  tie_word_embeddings: z.boolean().nullish(),
  attention_bias: z.boolean().nullish(),
  mlp_bias: z.boolean().nullish(),
  sliding_window: z.number().int().positive().nullish(),
  use_sliding_window: z.boolean().nullish(),
  initializer_range: z.number().positive().nullish(),
});

export type HuggingFaceConfig = z.infer<typeof huggingFaceConfigSchema>;

const llama3ScalingSchema = z.looseObject({
  factor: z.number().positive(),
  low_freq_factor: z.number().positive(),
  high_freq_factor: z.number().positive(),
  original_max_position_embeddings: count,
});

const supportedRopeScalings = 'llama3 (or none / default)';

function ropeScaling(config: HuggingFaceConfig, source: string): Llama3RopeScaling | undefined {
  const scaling = config.rope_scaling;
  if (scaling === null || scaling === undefined) return undefined;
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'default') return undefined;
  if (type !== 'llama3')
    throw new UserError(
      `${source}: unsupported rope_scaling type '${type ?? '(none given)'}'; dnc supports ${supportedRopeScalings}`,
    );
  const parsed = llama3ScalingSchema.safeParse(scaling);
  if (!parsed.success)
    throw new UserError(`${source}: rope_scaling of type llama3: ${formatZodError(parsed.error)}`);
  return {
    ropeType: 'llama3',
    factor: parsed.data.factor,
    lowFreqFactor: parsed.data.low_freq_factor,
    highFreqFactor: parsed.data.high_freq_factor,
    originalMaxPositionEmbeddings: parsed.data.original_max_position_embeddings,
  };
}

/** Which Linear modules carry a bias, per model_type (as the transformers modeling files build them). */
function biasedProjections(modelType: ModelType, config: HuggingFaceConfig): ProjectionName[] {
  if (modelType === 'qwen2') return ['q_proj', 'k_proj', 'v_proj'];
  // Mistral builds its projections without bias whatever attention_bias says.
  const attention: ProjectionName[] =
    modelType !== 'mistral' && config.attention_bias === true ? ['q_proj', 'k_proj', 'v_proj', 'o_proj'] : [];
  const mlp: ProjectionName[] =
    modelType === 'llama' && config.mlp_bias === true ? ['gate_proj', 'up_proj', 'down_proj'] : [];
  return [...attention, ...mlp];
}

/**
 * The positions over which dnc's full causal attention equals the model's: a sliding window in
 * force (Mistral's `sliding_window`, Qwen's `use_sliding_window`) bounds the context to the window.
 */
function contextLength(modelType: ModelType, config: HuggingFaceConfig): number {
  // MistralConfig's sliding_window is 4096 when the file leaves it out, and none when it is null.
  const window =
    modelType === 'mistral' && !('sliding_window' in config) ? 4096 : (config.sliding_window ?? undefined);
  const windowed = modelType === 'mistral' ? window !== undefined : config.use_sliding_window === true;
  return windowed && window !== undefined
    ? Math.min(window, config.max_position_embeddings)
    : config.max_position_embeddings;
}

function headDim(modelType: ModelType, config: HuggingFaceConfig): number | undefined {
  if (config.head_dim !== null && config.head_dim !== undefined) return config.head_dim;
  return modelType === 'qwen3' ? 128 : undefined; // Qwen3Config's default head_dim
}

/** Parses a config.json object into an architecture; `source` names the file in errors. */
export function architectureFromHuggingFaceConfig(json: unknown, source: string): StudentArchitecture {
  const parsed = huggingFaceConfigSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`${source}: not a decoder config dnc can read: ${formatZodError(parsed.error)}`);
  const config = parsed.data;
  const modelType = supportedModelTypes.find((type) => type === config.model_type);
  if (modelType === undefined)
    throw new UserError(
      `${source}: unsupported model_type '${config.model_type}'; dnc supports ${supportedModelTypes.join(', ')}`,
    );
  const activation = config.hidden_act ?? 'silu';
  if (activation !== 'silu')
    throw new UserError(`${source}: unsupported hidden_act '${activation}'; dnc supports silu`);
  const candidate = {
    modelType,
    vocabSize: config.vocab_size,
    hiddenSize: config.hidden_size,
    intermediateSize: config.intermediate_size,
    numHiddenLayers: config.num_hidden_layers,
    numAttentionHeads: config.num_attention_heads,
    numKeyValueHeads: config.num_key_value_heads ?? config.num_attention_heads,
    headDim: headDim(modelType, config),
    maxPositionEmbeddings: contextLength(modelType, config),
    ropeTheta: config.rope_theta ?? 10000,
    ropeScaling: ropeScaling(config, source),
    rmsNormEps: config.rms_norm_eps ?? 1e-6,
    initializerRange: config.initializer_range ?? 0.02,
    tieWordEmbeddings: config.tie_word_embeddings ?? false,
    biasedProjections: biasedProjections(modelType, config),
    queryKeyNorm: modelType === 'qwen3',
    huggingFaceConfig: json as Record<string, unknown>,
  };
  const architecture = studentArchitectureSchema.safeParse(candidate);
  if (!architecture.success) throw new UserError(`${source}: ${formatZodError(architecture.error)}`);
  return architecture.data;
}
