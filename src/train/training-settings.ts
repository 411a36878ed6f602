/**
 * The settings a training run uses: the preset's training defaults, overridden by command-line
 * flags, plus the trainer's own choices. They are stored in every checkpoint, and a resumed run
 * takes them from there (only the stopping point — max steps, epochs — may change on resume).
 */
import { z } from 'zod';
import { defaults } from '../config/defaults.js';
import { promptStyleSchema, type PromptStyle } from '../prompts/index.js';
import { trainingDefaultsSchema, type StudentPreset } from '../student/config.js';

export const longExamplePolicySchema = z.enum(['truncate', 'skip'], {
  error: "--long-examples must be 'truncate' or 'skip'",
});

export const trainingSettingsSchema = trainingDefaultsSchema.extend({
  /** What happens to examples longer than the sequence length. */
  longExamples: longExamplePolicySchema,
  /** The vocabulary size asked of the BPE trainer (the model gets what the tokenizer has). */
  requestedVocabSize: z.number().int().positive(),
  /**
   * The prompt style the student learns (`compact`: no system message; see src/prompts/prompt-style.ts).
   * Recorded in the lineage, so the exported brick renders its prompts the same way. Checkpoints
   * written before the setting existed trained on `instruct`.
   */
  promptFormat: promptStyleSchema.default('instruct'),
  /**
   * Renamed copies of each training example (its names replaced by made-up ones, see
   * src/train/name-copies.ts) added to the training set; 0: none.
   */
  nameCopies: z.number().int().nonnegative().default(0),
  /**
   * Early stopping: the run stops after `patience` validations in a row that did not lower the
   * best validation loss by at least `minDelta`, and the best validation checkpoint is exported.
   */
  patience: z.number().int().positive().default(defaults.train.patience),
  minDelta: z.number().nonnegative().default(defaults.train.minDelta),
  /** Train even on fewer examples than the floor, or without a validation set (see data-floor.ts). */
  allowSmallData: z.boolean().default(false),
  /**
   * Bit-for-bit reproducible runs on one machine: onnxruntime runs every kernel on one thread
   * (`--deterministic`), so no reduction's order depends on how the work was split.
   */
  deterministic: z.boolean().default(false),
  /**
   * Rows per micro-batch (`--micro-batch-size`): a step over `batchSize` rows runs as
   * batchSize / microBatchSize forward + backward passes with their gradients summed (see
   * src/train/micro-batches.ts), the same update in less memory. Absent: one pass of `batchSize` rows.
   */
  microBatchSize: z.number().int().positive().optional(),
  /**
   * Data-parallel worker threads (`--data-parallel N`): each runs its share of a step's micro-batches
   * on one onnxruntime thread, and their gradients are summed in a fixed order (src/engine/
   * gradient-workers.ts). The same update as one batch up to float rounding, and bit for bit
   * repeatable on one machine. 1: one session in this thread.
   */
  dataParallel: z.number().int().positive().default(1),
});

export type TrainingSettings = z.infer<typeof trainingSettingsSchema>;

/** Flags that override the preset's training defaults (undefined: keep the preset's value). */
export interface TrainingOverrides {
  epochs?: number;
  maxSteps?: number;
  seed?: number;
  vocabSize?: number;
  learningRate?: number;
  batchSize?: number;
  sequenceLength?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  warmupSteps?: number;
  longExamples?: 'truncate' | 'skip';
  /** Prompt style to train in (default: the style the data is written in). */
  promptFormat?: PromptStyle;
  /** Renamed copies of each training example (default 0). */
  nameCopies?: number;
  /** Validations without improvement before early stopping (default: defaults.train.patience). */
  patience?: number;
  /** The least drop of the validation loss that counts as an improvement. */
  minDelta?: number;
  /** Train below the data floor (fewer examples than defaults.train.minimumExamples, or no validation). */
  allowSmallData?: boolean;
  /** One onnxruntime thread, so the loss curve repeats bit for bit on the same machine. */
  deterministic?: boolean;
  /** Rows per micro-batch (gradient accumulation; default: the whole batch at once). */
  microBatchSize?: number;
  /** Data-parallel worker threads, each on one onnxruntime thread (default 1: none). */
  dataParallel?: number;
}

function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** `dataStyle`: the style the training data is written in, used when no prompt format is asked for. */
export function resolveSettings(
  preset: StudentPreset,
  overrides: TrainingOverrides,
  dataStyle: PromptStyle = 'instruct',
): TrainingSettings {
  const { vocabSize, longExamples, promptFormat, ...training } = overrides;
  return trainingSettingsSchema.parse({
    ...preset.training,
    ...defined(training),
    longExamples: longExamples ?? 'skip',
    requestedVocabSize: vocabSize ?? preset.architecture.vocabSize,
    promptFormat: promptFormat ?? dataStyle,
  });
}
