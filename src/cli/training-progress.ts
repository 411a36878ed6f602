/**
 * The CLI's training progress: a redrawn progress line on a terminal (or with --progress),
 * else a log line per evaluation step. Injected into trainStudent, which only reports.
 */
import { evaluationLogReporter, type TrainingProgressReporter } from '../train/training-progress.js';
import { createProgress, type Progress } from './progress.js';

export function trainingProgressReporter(options: {
  drawing: boolean;
  log: (line: string) => void;
}): TrainingProgressReporter {
  if (!options.drawing) return evaluationLogReporter(options.log);
  let progress: Progress | undefined; // created at the first step, when the step budget is known
  return {
    step(report) {
      progress ??= createProgress({
        label: 'train',
        total: report.totalSteps - report.step + 1,
        enabled: true,
      });
      progress.tick(1, {
        loss: report.loss.toFixed(3),
        val: report.validationLoss?.toFixed(3) ?? '-',
        'tok/s': Math.round(report.tokensPerSecond),
      });
    },
    done() {
      progress?.done();
    },
  };
}
