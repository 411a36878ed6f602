/**
 * The settings a training run uses: the preset's training defaults, overridden by command-line
 * flags, plus the trainer's own choices. They are stored in every checkpoint, and a resumed run
 * takes them from there (only the stopping point — max steps, epochs — may change on resume).
 */
import { z } from 'zod';
import { trainingDefaultsSchema, type StudentPreset } from '../student/config.js';

export const longExamplePolicySchema = z.enum(['truncate', 'skip'], {
  error: "--long-examples must be 'truncate' or 'skip'",
});

export const trainingSettingsSchema = trainingDefaultsSchema.extend({
  /** What happens to examples longer than the sequence length. */
  longExamples: longExamplePolicySchema,
  /** The vocabulary size asked of the BPE trainer (the model gets what the tokenizer has). */
  requestedVocabSize: z.number().int().positive(),
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
}

function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export function resolveSettings(preset: StudentPreset, overrides: TrainingOverrides): TrainingSettings {
  const { vocabSize, longExamples, ...training } = overrides;
  return trainingSettingsSchema.parse({
    ...preset.training,
    ...defined(training),
    longExamples: longExamples ?? 'skip',
    requestedVocabSize: vocabSize ?? preset.architecture.vocabSize,
  });
}
