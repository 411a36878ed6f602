/**
 * Training checkpoints. A run directory (`dnc train --out DIR`) holds:
 *
 *   tokenizer.json, tokenizer_config.json   the run's tokenizer (written once, before step 1)
 *   model.safetensors, student.json         the latest checkpoint's weights and manifest: what
 *                                           `dnc export DIR` reads (src/export/checkpoint.ts)
 *   train-log.jsonl                         the loss curve (see training-log.ts)
 *   checkpoints/step-NNNNNNNN/              one directory per checkpoint, the newest few kept:
 *     training-state.json                   header (magic, version) + step, schedule, data
 *                                           position, random state, progress, settings
 *     model.safetensors                     weights under their Hugging Face names
 *     optimizer.safetensors                 AdamW moments `adam_m.NAME`, `adam_v.NAME`
 *     student.json, tokenizer files         so that the directory alone can be exported too
 *
 * A checkpoint directory is written under a temporary name and renamed into place when complete,
 * so a kill at any moment leaves either the previous checkpoints or the new one, never half of one;
 * readers ignore the temporary names. The top-level export view is replaced file by file
 * (atomically) after the rename.
 */
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { formatZodError } from '../data/zod-format.js';
import { brickRoleSchema } from '../bricks/brick-manifest.js';
import { type CheckpointManifest, checkpointFiles, checkStudentWeights } from '../export/checkpoint.js';
import { optimizerNames } from '../engine/optimizer.js';
import { studentArchitectureSchema } from '../student/config.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../student/safetensors.js';
import { tokenizerConfigFileName, tokenizerFileName } from '../tokenizer/tokenizer-files.js';
import { baseReferenceSchema, trainableShapes } from '../student/pretrained-base.js';
import { trainingSettingsSchema } from './training-settings.js';

export const CHECKPOINT_MAGIC = 'dnc-train-checkpoint';
export const CHECKPOINT_VERSION = 1;
const OPTIMIZER_MAGIC = 'dnc-adamw-moments';

export const trainingFiles = {
  state: 'training-state.json',
  optimizer: 'optimizer.safetensors',
  checkpoints: 'checkpoints',
  log: 'train-log.jsonl',
} as const;

const count = z.number().int().nonnegative();
const finiteOrNull = z.number().nullable();

export const trainingStateSchema = z.strictObject({
  magic: z.literal(CHECKPOINT_MAGIC),
  version: z.literal(CHECKPOINT_VERSION),
  role: brickRoleSchema,
  preset: z.string().min(1),
  architecture: studentArchitectureSchema,
  settings: trainingSettingsSchema,
  dataHash: z.string().min(1),
  teacher: z.string().min(1).nullable(),
  /**
   * The pretrained base the run fine-tunes (null: trained from scratch). With LoRA the checkpoint's
   * weights are the adapter's A and B alone; the base is read from `base.directory` and checked
   * against `base.weightsHash`.
   */
  base: baseReferenceSchema.nullable().optional(),
  /** Optimizer steps taken (the schedule position: the next update is step + 1). */
  step: count,
  /** Where the next batch comes from: batch `batchCursor` of epoch `epoch`. */
  data: z.strictObject({ epoch: count, batchCursor: count, batchesPerEpoch: count }),
  /**
   * The run's only randomness is the data order: epoch e's row order is a pure function of
   * (seed, `train-epoch-e`) under pure-rand's xoroshiro128+ (and the packing of (seed,
   * `packing`)), so this seed and the data position are the whole random state.
   */
  random: z.strictObject({ generator: z.literal('xoroshiro128plus'), seed: count }),
  schedule: z.strictObject({
    peak: z.number().positive(),
    minimum: z.number().nonnegative(),
    warmupSteps: count,
    totalSteps: count,
  }),
  progress: z.strictObject({
    tokens: count,
    targetTokens: count,
    seconds: z.number().nonnegative(),
    initialLoss: finiteOrNull,
    trainLoss: finiteOrNull,
    validationLoss: finiteOrNull,
    bestValidationLoss: finiteOrNull,
    evaluationsWithoutImprovement: count,
    /** The step of the best validation loss; its checkpoint stays on disk (early-stopping.ts). */
    bestStep: count.nullable().default(null),
  }),
  createdAt: z.string(),
});

export type TrainingState = z.infer<typeof trainingStateSchema>;

export interface TrainingCheckpoint {
  directory: string;
  state: TrainingState;
  weights: Map<string, Float32Array>;
  /** `adam_m.NAME` and `adam_v.NAME` for every parameter. */
  moments: Map<string, Float32Array>;
}

const stepDirectoryName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/** The checkpoint directory of `step` in a run directory. */
export const checkpointDirectoryOf = (outDirectory: string, step: number): string =>
  join(outDirectory, trainingFiles.checkpoints, stepDirectoryName(step));
const stepDirectoryPattern = /^step-(\d{8})$/;
const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** The checkpoint directories of a run, newest first (temporary names are ignored). */
async function listCheckpoints(outDirectory: string): Promise<string[]> {
  const names = await readdir(join(outDirectory, trainingFiles.checkpoints)).catch(() => [] as string[]);
  return names
    .filter((name) => stepDirectoryPattern.test(name))
    .sort()
    .reverse()
    .map((name) => join(outDirectory, trainingFiles.checkpoints, name));
}

/** The newest complete checkpoint directory of a run, if any. */
export async function findLatestCheckpoint(outDirectory: string): Promise<string | undefined> {
  return (await listCheckpoints(outDirectory))[0];
}

/** The tensors a checkpoint of this run holds: every weight, or the LoRA adapter alone. */
const savedShapes = (state: Pick<TrainingState, 'architecture' | 'base'>): Map<string, number[]> =>
  trainableShapes(state.architecture, state.base?.lora);

function weightTensors(state: TrainingState, weights: ReadonlyMap<string, Float32Array>) {
  return new Map<string, Tensor>(
    [...savedShapes(state)].map(([name, shape]) => [name, { shape, data: weights.get(name)! }]),
  );
}

function momentTensors(state: TrainingState, moments: ReadonlyMap<string, Float32Array>) {
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of savedShapes(state))
    for (const moment of [optimizerNames.firstMoment(name), optimizerNames.secondMoment(name)])
      tensors.set(moment, { shape, data: moments.get(moment)! });
  return tensors;
}

/**
 * Writes a checkpoint for `state.step` (staged, then renamed into place), refreshes the run's
 * export view and keeps only the newest `keep` checkpoints, and the best validation step's
 * (`state.progress.bestStep`). A step already saved is not rewritten.
 */
export async function writeTrainingCheckpoint(
  outDirectory: string,
  checkpoint: Omit<TrainingCheckpoint, 'directory'>,
  manifest: CheckpointManifest,
  keep: number,
): Promise<string> {
  const { state, weights, moments } = checkpoint;
  const parent = join(outDirectory, trainingFiles.checkpoints);
  const target = join(parent, stepDirectoryName(state.step));
  if (await stat(target).catch(() => undefined)) return target;
  await mkdir(parent, { recursive: true });
  const staged = await mkdtemp(join(parent, `.staging-${stepDirectoryName(state.step)}-`));
  const weightBytes = encodeSafetensors(weightTensors(state, weights), { format: 'pt' });
  try {
    await chmod(staged, 0o755); // mkdtemp makes it private
    await writeFileAtomic(join(staged, checkpointFiles.weights), weightBytes);
    await writeFileAtomic(
      join(staged, trainingFiles.optimizer),
      encodeSafetensors(momentTensors(state, moments), {
        magic: OPTIMIZER_MAGIC,
        version: String(CHECKPOINT_VERSION),
        step: String(state.step),
      }),
    );
    await writeFileAtomic(join(staged, checkpointFiles.manifest), json(manifest));
    for (const file of [tokenizerFileName, tokenizerConfigFileName])
      await copyFile(join(outDirectory, file), join(staged, file));
    await writeFileAtomic(join(staged, trainingFiles.state), json(state)); // last: the header
    await rename(staged, target);
  } catch (error) {
    await rm(staged, { recursive: true, force: true });
    throw error;
  }
  await writeFileAtomic(join(outDirectory, checkpointFiles.weights), weightBytes);
  await writeFileAtomic(join(outDirectory, checkpointFiles.manifest), json(manifest));
  const best =
    state.progress.bestStep === null ? null : checkpointDirectoryOf(outDirectory, state.progress.bestStep);
  for (const old of (await listCheckpoints(outDirectory))
    .slice(keep)
    .filter((directory) => directory !== best))
    await rm(old, { recursive: true, force: true });
  return target;
}

/** Removes checkpoint directories that a killed write left under temporary names. */
export async function removeStagingLeftovers(outDirectory: string): Promise<void> {
  const parent = join(outDirectory, trainingFiles.checkpoints);
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names.filter((entry) => entry.startsWith('.staging-')))
    await rm(join(parent, name), { recursive: true, force: true });
}

async function readState(directory: string): Promise<TrainingState> {
  const file = join(directory, trainingFiles.state);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(
      `cannot read ${file} (${(error as Error).message}); delete ${directory} to resume from an older checkpoint`,
      { cause: error },
    );
  }
  const header = raw as { magic?: unknown; version?: unknown };
  if (header.magic !== CHECKPOINT_MAGIC)
    throw new UserError(
      `${file} is not a dnc training checkpoint (magic ${JSON.stringify(header.magic)}); point --out at a directory \`dnc train\` wrote`,
    );
  if (header.version !== CHECKPOINT_VERSION)
    throw new UserError(
      `${file} has checkpoint version ${String(header.version)} but this dnc reads version ${CHECKPOINT_VERSION}; resume it with the dnc that wrote it, or train afresh`,
    );
  const parsed = trainingStateSchema.safeParse(raw);
  if (!parsed.success)
    throw new UserError(`${file}: invalid training state: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

/** Reads and checks a checkpoint directory: state header, weights and optimizer moments. */
export async function readTrainingCheckpoint(directory: string): Promise<TrainingCheckpoint> {
  const state = await readState(directory);
  const weightsFile = join(directory, checkpointFiles.weights);
  const weights = checkStudentWeights(
    state.architecture,
    decodeSafetensors(await readFile(weightsFile), weightsFile).tensors,
    weightsFile,
    savedShapes(state),
  );
  const optimizerFile = join(directory, trainingFiles.optimizer);
  const optimizer = decodeSafetensors(await readFile(optimizerFile), optimizerFile);
  if (optimizer.metadata.magic !== OPTIMIZER_MAGIC || optimizer.metadata.step !== String(state.step))
    throw new UserError(
      `${optimizerFile} does not hold the AdamW moments of step ${state.step}; delete ${directory} to resume from an older checkpoint`,
    );
  const moments = new Map<string, Float32Array>();
  for (const [name, shape] of savedShapes(state)) {
    for (const moment of [optimizerNames.firstMoment(name), optimizerNames.secondMoment(name)]) {
      const tensor = optimizer.tensors.get(moment);
      if (tensor === undefined || tensor.shape.join(',') !== shape.join(','))
        throw new UserError(
          `${optimizerFile} lacks ${moment} of shape [${shape.join(', ')}]; the checkpoint is damaged`,
        );
      moments.set(moment, tensor.data);
    }
  }
  return { directory, state, weights, moments };
}
