/**
 * Early stopping on the validation loss. Each validation either improves on the best loss so far
 * (by at least `minDelta`) — the step becomes the best step, and the loop writes a checkpoint of it
 * at once, kept on disk until a better one replaces it — or adds one to the count of validations
 * without improvement; at `patience` of those the run stops. The best step, its loss and the count
 * live in the training state, so a resumed run goes on where the killed one was.
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
  if (best === null || loss < best - minDelta) {
    progress.bestValidationLoss = loss;
    progress.bestStep = step;
    progress.evaluationsWithoutImprovement = 0;
    return true;
  }
  progress.evaluationsWithoutImprovement += 1;
  return false;
}

/** True when the last `patience` validations in a row did not improve on the best. */
export function patienceExhausted(progress: ValidationProgress, patience: number): boolean {
  return progress.evaluationsWithoutImprovement >= patience;
}
