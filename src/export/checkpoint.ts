/**
 * A student checkpoint directory, as `dnc train` leaves it and `dnc export` reads it:
 *
 *   model.safetensors       weights under their Hugging Face Llama names (F32)
 *   student.json            { role, architecture, lineage?, metrics? } (schema below)
 *   tokenizer.json, tokenizer_config.json
 *
 * Other files (optimizer moments, schedule and data positions) may sit beside them; export ignores them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { formatZodError } from '../data/zod-format.js';
import { studentArchitectureSchema, type StudentArchitecture } from '../student/config.js';
import { studentWeightShapes } from '../student/initialize.js';
import { readSafetensors } from '../student/safetensors.js';
import { brickRoleSchema, lineageSchema, type BrickRole, type Lineage } from '../bricks/brick-manifest.js';
import { mergeLora } from '../student/lora.js';
import {
  type BaseReference,
  baseReferenceSchema,
  loadBase,
  trainableShapes,
} from '../student/pretrained-base.js';

export const checkpointFiles = { weights: 'model.safetensors', manifest: 'student.json' } as const;

export const checkpointManifestSchema = z.strictObject({
  role: brickRoleSchema,
  architecture: studentArchitectureSchema,
  lineage: lineageSchema.optional(),
  metrics: z.record(z.string(), z.number().nullable()).optional(),
  /** Capitalized words found in many training answers (what the copy constraint lets pass). */
  answerTerms: z.array(z.string().min(1)).optional(),
  /** Question key → answer words it all but decides (src/decoding/copy-names/word-associations.ts). */
  answerAssociations: z.record(z.string(), z.array(z.string().min(1))).optional(),
  /** The pretrained base (src/student/pretrained-base.ts); with LoRA, model.safetensors is the adapter. */
  base: baseReferenceSchema.optional(),
});

export type CheckpointManifest = z.infer<typeof checkpointManifestSchema>;

export interface Checkpoint {
  role: BrickRole;
  architecture: StudentArchitecture;
  weights: Map<string, Float32Array>;
  lineage: Lineage;
  metrics: Record<string, number | null>;
  /** Capitalized words found in many training answers (empty when not recorded). */
  answerTerms: string[];
  /** Question key → answer words it all but decides (empty when not recorded). */
  answerAssociations: Record<string, string[]>;
  /** The directory holding the tokenizer files. */
  tokenizerDirectory: string;
  /** The pretrained base the student was fine-tuned from, if any. */
  base?: BaseReference;
  /** With LoRA: the adapter's A and B (and `weights` is the base merged with it). */
  adapter?: Map<string, Float32Array>;
}

async function readManifest(directory: string): Promise<CheckpointManifest> {
  const file = join(directory, checkpointFiles.manifest);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(
      `cannot read ${file} (${(error as Error).message}); a checkpoint directory is what \`dnc train --out DIR\` writes`,
      { cause: error },
    );
  }
  const parsed = checkpointManifestSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`${file}: invalid checkpoint manifest: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

/** Checks that the weights hold every tensor of the architecture with the right shape. */
export function checkStudentWeights(
  architecture: StudentArchitecture,
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  source: string,
  /** The tensors expected (default: every weight of the architecture; a LoRA run saves its adapter). */
  shapes: Map<string, number[]> = studentWeightShapes(architecture),
): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of shapes) {
    const tensor = tensors.get(name);
    if (tensor === undefined)
      throw new UserError(`${source} lacks the tensor ${name}; the weights do not match the architecture`);
    if (tensor.shape.join(',') !== shape.join(','))
      throw new UserError(
        `${source}: ${name} has shape [${tensor.shape.join(', ')}] but the architecture needs [${shape.join(', ')}]`,
      );
    weights.set(name, tensor.data);
  }
  return weights;
}

export async function readCheckpoint(directory: string): Promise<Checkpoint> {
  const manifest = await readManifest(directory);
  const weightsFile = join(directory, checkpointFiles.weights);
  const { tensors } = await readSafetensors(weightsFile);
  const lora = manifest.base?.lora ?? null;
  const saved = checkStudentWeights(
    manifest.architecture,
    tensors,
    weightsFile,
    trainableShapes(manifest.architecture, lora),
  );
  let weights = saved;
  if (manifest.base !== undefined && lora !== null) {
    // A LoRA checkpoint holds the adapter alone: read the base (unchanged since) and merge.
    const base = await loadBase(manifest.base.directory, lora, { expected: manifest.base });
    weights = mergeLora(manifest.architecture, base.checkpoint.weights, lora, saved);
  }
  return {
    role: manifest.role,
    architecture: manifest.architecture,
    weights,
    ...(manifest.base === undefined ? {} : { base: manifest.base }),
    ...(lora === null ? {} : { adapter: saved }),
    lineage: manifest.lineage ?? { dataHash: null, teacher: null, training: {} },
    metrics: manifest.metrics ?? {},
    answerTerms: manifest.answerTerms ?? [],
    answerAssociations: manifest.answerAssociations ?? {},
    tokenizerDirectory: directory,
  };
}
