/**
 * Early stopping on the validation loss. A validation below the best loss so far makes its step
 * the best step, and the loop writes a checkpoint of it at once, kept on disk until a better one
 * replaces it: that is what gets exported. A validation that does not lower the best loss by at
 * least `minDelta` (a tiny new best included) adds one to the count of validations without
 * improvement, and at `patience` of those the run stops. The best step, its loss and the count live
 * in the training state, so a resumed run goes on where the killed one was.
 */
import { type TrainingState } from './training-checkpoint.js';

export type ValidationProgress = Pick<
  TrainingState['progress'],
  'bestValidationLoss' | 'bestStep' | 'evaluationsWithoutImprovement'
>;

/** Records a validation loss taken after `step` optimizer steps; true when it is the new best. */
export function recordValidation(
  progress: ValidationProgress,
  loss: number,
  step: number,
  minDelta: number,
): boolean {
  const best = progress.bestValidationLoss;
  if (best !== null && loss > best - minDelta) progress.evaluationsWithoutImprovement += 1;
  else progress.evaluationsWithoutImprovement = 0;
  if (best !== null && loss >= best) return false;
  progress.bestValidationLoss = loss;
  progress.bestStep = step;
  return true;
}

/** True when the last `patience` validations in a row did not improve on the best. */
export function patienceExhausted(progress: ValidationProgress, patience: number): boolean {
  return progress.evaluationsWithoutImprovement >= patience;
}
