/**
 * The training-set floor. A student trained on a handful of examples learns nothing worth
 * exporting, and without a validation set nothing tells when it starts to overfit, so training
 * refuses fewer than `defaults.train.minimumExamples` usable examples or an empty validation set,
 * unless the user asks for it (`--allow-small-data`, pipeline `allowSmallData`). The pipeline's
 * filter stage applies the same floor to the training sets it writes, before any training starts.
 */
import { UserError } from '../errors/user-error.js';
import { defaults } from '../config/defaults.js';

export interface DataCounts {
  /** Usable training examples (without renamed copies). */
  train: number;
  /** Usable validation examples. */
  validation: number;
}

/** The examples a data set of `examples` has after the validation split (see splitValidation). */
export function expectedCounts(examples: number): DataCounts {
  const { validationFraction, validationMinimum, validationMinimumSet } = defaults.train;
  if (examples < validationMinimumSet) return { train: examples, validation: 0 };
  const validation = Math.max(validationMinimum, Math.round(examples * validationFraction));
  return { train: examples - validation, validation };
}

/** What is below the floor, in words; null when the counts are enough to train on. */
export function dataFloorProblem(counts: DataCounts): string | null {
  const total = counts.train + counts.validation;
  const { minimumExamples, validationMinimumSet } = defaults.train;
  if (total >= minimumExamples && counts.validation > 0) return null;
  const split = `${counts.train} for training, ${counts.validation} for validation`;
  const need =
    total < minimumExamples
      ? `at least ${minimumExamples}`
      : `a validation set (data sets under ${validationMinimumSet} examples get none; long examples may have been skipped)`;
  return `${total} usable examples (${split}); training needs ${need}`;
}

/** Throws the one-line refusal for `source` (a data file) when its counts are under the floor. */
export function checkDataFloor(source: string, counts: DataCounts, allowSmallData: boolean): void {
  const problem = dataFloorProblem(counts);
  if (problem === null || allowSmallData) return;
  throw new UserError(
    `${source} has ${problem}; give it more examples (collect more, or use a filter that keeps more), ` +
      'or pass --allow-small-data (pipeline student: "allowSmallData": true) to train anyway',
  );
}
