/**
 * Step 2 of a training run: pack the training documents into rows of T tokens (once; each
 * epoch reorders them by (seed, epoch)), pack the validation set, size the loss head and plan
 * the learning-rate schedule.
 */
import { defaults } from '../config/defaults.js';
import { countParameters } from '../student/config.js';
import {
  epochBatches,
  packRows,
  paddingFraction,
  plannedTargetCapacity,
  type Row,
  seededPermutation,
} from './packing.js';
import { type PreparedRun, type TrainOptions } from './prepare-run.js';
import { type Schedule } from './schedule.js';
import { type BatchShape } from './student-model.js';
import { packValidation, type ValidationSet } from './validation.js';
import { microBatchCount } from './micro-batches.js';

export interface TrainingPlan {
  rows: Row[];
  validationSet: ValidationSet;
  /** The graphs' (B, T) — a micro-batch's rows — and K, the loss positions of the fullest one. */
  shape: BatchShape;
  /** Rows per optimizer step (`batchSize`): `microBatches` micro-batches of `shape.rows`. */
  stepRows: number;
  microBatches: number;
  batchesPerEpoch: number;
  /** Padding share of the first epoch's batches. */
  padding: number;
  schedule: Schedule;
}

export function planTraining(run: PreparedRun): TrainingPlan {
  const { settings, train, validation } = run;
  const stepRows = settings.batchSize;
  const microBatches = microBatchCount(settings); // the graphs run on (B / microBatches, T)
  const rowShape = { rows: stepRows / microBatches, length: settings.sequenceLength }; // (B, T)
  const rows = packRows(
    train.documents,
    seededPermutation(train.documents.length, settings.seed, 'packing'),
    rowShape.length,
  );
  const validationSet = packValidation(validation.documents, rowShape);
  const batchesPerEpoch = Math.ceil(rows.length / stepRows);
  const totalSteps = Math.min(settings.maxSteps, settings.epochs * batchesPerEpoch);
  // The head (and the last layer after its attention) runs at the loss positions only: K fits the
  // fullest micro-batch of every epoch this run trains on (each a pure function of seed and epoch)
  // and of the validation set. A resume that changes the step budget plans its K afresh.
  const epochs = Array.from({ length: Math.ceil(totalSteps / batchesPerEpoch) }, (_, epoch) =>
    epochBatches(rows, stepRows, settings.seed, epoch),
  );
  const shape: BatchShape = {
    ...rowShape,
    targets: Math.max(
      plannedTargetCapacity(train.documents, epochs.flat(), rowShape),
      plannedTargetCapacity(validation.documents, validationSet.batches, rowShape),
    ),
  };
  const stepShape = { rows: stepRows, length: shape.length };
  const padding = paddingFraction(train.documents, epochs[0] ?? [], stepShape);
  const schedule: Schedule = {
    peak: settings.learningRate,
    minimum: settings.learningRate * defaults.train.minLearningRateFraction,
    warmupSteps: settings.warmupSteps,
    totalSteps,
  };
  return { rows, validationSet, shape, stepRows, microBatches, batchesPerEpoch, padding, schedule };
}

/** The line a run starts with: the student, the data, the packing and the step budget. */
export function describePlan(run: PreparedRun, options: TrainOptions, plan: TrainingPlan): string {
  const { architecture, train, validation } = run;
  const { shape, schedule } = plan;
  return (
    `${options.role} student ${run.presetName}: ${countParameters(architecture).toLocaleString('en-US')} parameters, vocab ${architecture.vocabSize}; ` +
    `${train.documents.length} training / ${validation.documents.length} validation examples in ${plan.rows.length} rows of ${shape.length} ` +
    `(${(plan.padding * 100).toFixed(1)}% padding), ${plan.batchesPerEpoch} batches of ${plan.stepRows}${plan.microBatches > 1 ? ` (${plan.microBatches} micro-batches of ${shape.rows})` : ''}${run.settings.dataParallel > 1 ? ` on ${run.settings.dataParallel} data-parallel workers` : ''} per epoch, ${schedule.totalSteps} steps`
  );
}
