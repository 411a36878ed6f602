/**
 * How the training loop tells its caller where it is. The loop only reports; drawing a
 * progress bar or printing lines is the caller's job (the CLI injects a reporter that draws on
 * a terminal, src/cli/training-progress.ts), so the trainer does not depend on the CLI.
 */

/** One finished optimizer step. */
export interface TrainingStepReport {
  step: number;
  totalSteps: number;
  /** This step's loss. */
  loss: number;
  /** Mean of the recent step losses. */
  trainLoss: number | null;
  validationLoss: number | null;
  /** Document tokens per second of this invocation's loop so far. */
  tokensPerSecond: number;
  /** Seconds left at this invocation's mean step time. */
  remainingSeconds: number;
  /** Whether this step was a scheduled evaluation step (every evalEvery). */
  evaluation: boolean;
}

export interface TrainingProgressReporter {
  step(report: TrainingStepReport): void;
  /** The loop is over (finished, stopped or interrupted). */
  done(): void;
}

/** Seconds as `42s`, `3m05s` or `2h07m` (`?` when unknown). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** The line a log gets at each evaluation step. */
export function describeStep(report: TrainingStepReport): string {
  return (
    `step ${report.step}/${report.totalSteps}  loss ${report.trainLoss?.toFixed(4)}  ` +
    `val ${report.validationLoss?.toFixed(4) ?? '-'}  ${Math.round(report.tokensPerSecond)} tok/s  ` +
    `eta ${formatDuration(report.remainingSeconds)}`
  );
}

/** The default reporter: a log line per evaluation step (what a pipeline stage or a pipe gets). */
export function evaluationLogReporter(log: (line: string) => void): TrainingProgressReporter {
  return {
    step(report) {
      if (report.evaluation) log(describeStep(report));
    },
    done() {},
  };
}
