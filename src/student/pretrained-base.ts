/**
 * A training run's pretrained base (`dnc train --base MODEL_DIR`): the Hugging Face checkpoint
 * (src/student/hugging-face-checkpoint.ts), the reference a checkpoint keeps to it (path + a content
 * hash of its weights, so that a base changed on disk is caught on --resume and on export) and how
 * the run trains it: fully, or with LoRA (then only the adapter is trained and saved).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { defaults } from '../config/defaults.js';
import { type ParameterSpec } from '../engine/training-graphs.js';
import { type StudentArchitecture, studentPresetSchema, type StudentPreset } from './config.js';
import { loadPretrainedCheckpoint, type PretrainedCheckpoint } from './hugging-face-checkpoint.js';
import { studentWeightShapes } from './initialize.js';
import { llamaParameterSpecs } from './llama-graph.js';
import { loraParameterSpecs, type LoraSettings, loraSettingsSchema } from './lora.js';

/** What a checkpoint records about its base. */
export const baseReferenceSchema = z.strictObject({
  /** The base model directory, absolute. */
  directory: z.string().min(1),
  /** sha256 over the base's float32 weights, in the architecture's tensor order. */
  weightsHash: z.string().min(1),
  /** LoRA settings; null: full fine-tuning (the checkpoint holds every weight). */
  lora: loraSettingsSchema.nullable(),
});

export type BaseReference = z.infer<typeof baseReferenceSchema>;

export interface LoadedBase {
  reference: BaseReference;
  checkpoint: PretrainedCheckpoint;
}

/** sha256 of the weights' bytes in `studentWeightShapes` order (independent of shards and dtypes). */
export function weightsHash(
  architecture: StudentArchitecture,
  weights: ReadonlyMap<string, Float32Array>,
): string {
  const hash = createHash('sha256');
  for (const name of studentWeightShapes(architecture).keys()) {
    const data = weights.get(name);
    if (data === undefined) throw new Error(`weightsHash: no tensor ${name}`);
    hash.update(name);
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex').slice(0, 32);
}

/** Loads the base and hashes its weights; with `expected`, refuses a base that changed since. */
export async function loadBase(
  directory: string,
  lora: LoraSettings | null,
  options: { chatTemplateFile?: string; expected?: BaseReference } = {},
): Promise<LoadedBase> {
  const checkpoint = await loadPretrainedCheckpoint(directory, {
    chatTemplateFile: options.chatTemplateFile,
  });
  const reference: BaseReference = {
    directory: checkpoint.directory,
    weightsHash: weightsHash(checkpoint.architecture, checkpoint.weights),
    lora,
  };
  if (options.expected !== undefined && options.expected.weightsHash !== reference.weightsHash)
    throw new UserError(
      `the base model in ${checkpoint.directory} is not the one this run was trained from (weights hash ` +
        `${reference.weightsHash} vs ${options.expected.weightsHash}); restore the original base, or train afresh`,
    );
  return { reference, checkpoint };
}

/** The tensors a run trains: the LoRA pairs, or every weight of the model. */
export function trainableSpecs(
  architecture: StudentArchitecture,
  lora: LoraSettings | null | undefined,
): ParameterSpec[] {
  return lora ? loraParameterSpecs(architecture, lora) : llamaParameterSpecs(architecture);
}

/** Name → shape of the trainable tensors (what checkpoints hold). */
export function trainableShapes(
  architecture: StudentArchitecture,
  lora: LoraSettings | null | undefined,
): Map<string, number[]> {
  return new Map(trainableSpecs(architecture, lora).map((spec) => [spec.name, [...spec.shape]]));
}

/**
 * A preset for a pretrained base: its architecture and `defaults.pretrained` training values for
 * the mode (the context is the base's, capped by the default sequence length).
 */
export function pretrainedPreset(
  base: PretrainedCheckpoint,
  lora: LoraSettings | null,
  name: string,
): StudentPreset {
  const { training, ...modes } = defaults.pretrained;
  const mode = lora === null ? modes.full : modes.lora;
  const parsed = studentPresetSchema.safeParse({
    name,
    description: `pretrained ${base.architecture.modelType ?? 'llama'} base ${base.directory}${lora === null ? '' : ` with LoRA r=${lora.rank}`}`,
    architecture: base.architecture,
    training: {
      ...training,
      ...mode,
      sequenceLength: Math.min(training.sequenceLength, base.architecture.maxPositionEmbeddings),
    },
  });
  if (!parsed.success)
    throw new UserError(`${base.directory}: the base cannot be trained: ${parsed.error.message}`);
  return parsed.data;
}
