/**
 * The learning-rate schedule: linear warmup from peak / warmup to the peak, then a half cosine down
 * to `minimum` at `totalSteps` (and `minimum` after it). A pure function of the step, so a resumed
 * run needs only its step count to be back on the curve.
 */
export interface Schedule {
  peak: number;
  minimum: number;
  warmupSteps: number;
  totalSteps: number;
}

/** The learning rate of optimizer step `step` (1-based: the first update is step 1). */
export function learningRateAt(step: number, schedule: Schedule): number {
  const { peak, minimum, warmupSteps, totalSteps } = schedule;
  if (step <= warmupSteps) return (peak * step) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return minimum + (peak - minimum) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
