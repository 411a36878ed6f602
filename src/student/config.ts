/**
 * Student presets (`students/*.json`): a Llama-style decoder architecture, named as in Hugging Face
 * `LlamaConfig` (camelCase), plus the trainer's defaults for it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../cli/user-error.js';
import { formatZodError } from '../data/zod-format.js';

const positiveInteger = z.number().int().positive();

export const studentArchitectureSchema = z
  .strictObject({
    vocabSize: positiveInteger,
    hiddenSize: positiveInteger,
    intermediateSize: positiveInteger,
    numHiddenLayers: positiveInteger,
    numAttentionHeads: positiveInteger,
    numKeyValueHeads: positiveInteger,
    /** Context length: the longest sequence the model takes. */
    maxPositionEmbeddings: positiveInteger,
    ropeTheta: z.number().positive(),
    rmsNormEps: z.number().positive(),
    /** Standard deviation of the normal initialization of weight matrices. */
    initializerRange: z.number().positive().default(0.02),
    tieWordEmbeddings: z.literal(true, { error: 'tieWordEmbeddings must be true (dnc students tie them)' }),
  })
  .refine((architecture) => architecture.hiddenSize % architecture.numAttentionHeads === 0, {
    message: 'hiddenSize must be divisible by numAttentionHeads',
  })
  .refine((architecture) => (architecture.hiddenSize / architecture.numAttentionHeads) % 2 === 0, {
    message: 'the head dimension (hiddenSize / numAttentionHeads) must be even for rotary embeddings',
  })
  .refine((architecture) => architecture.numAttentionHeads % architecture.numKeyValueHeads === 0, {
    message: 'numAttentionHeads must be a multiple of numKeyValueHeads (grouped-query attention)',
  });

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

export const headDimension = (architecture: StudentArchitecture): number =>
  architecture.hiddenSize / architecture.numAttentionHeads;

async function listPresets(): Promise<string[]> {
  const files = await readdir(presetDirectory).catch(() => [] as string[]);
  return files
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

/** Loads a preset by name (`nano`, `tiny`, `small`) or from a path to a preset JSON file. */
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
  const attention = hiddenSize * head * (2 * numAttentionHeads + 2 * numKeyValueHeads);
  const mlp = 3 * hiddenSize * intermediateSize;
  const norms = 2 * hiddenSize;
  return vocabSize * hiddenSize + numHiddenLayers * (attention + mlp + norms) + hiddenSize;
}

export interface ConfigTokenIds {
  bos: number;
  eos: number;
  pad: number;
}

/** The Hugging Face `config.json` of a student (loads as `LlamaForCausalLM`). */
export function toHuggingFaceConfig(architecture: StudentArchitecture, tokenIds: ConfigTokenIds) {
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
