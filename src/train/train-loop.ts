/**
 * `dnc train`'s main loop, top to bottom:
 *
 *   1. prepare: data, tokenizer, split, settings (or all of it from the checkpoint on --resume)
 *   2. pack the training documents into rows of T tokens; plan the schedule (training-plan.ts)
 *   3. build the trainer (one ONNX graph: forward + backward + AdamW) and restore its state on
 *      resume (training-session.ts)
 *   4. loop: batch → step → log → validate every evalEvery → checkpoint every checkpointEvery,
 *      stopping at the step budget, on early stopping, on a stop signal (with a checkpoint) or on
 *      a diverged loss (without one: the last good checkpoint stays)
 *   5. final validation, final checkpoint, optional export, summary
 *
 * Helpers live beside this file: packing.ts (rows and batches), schedule.ts (learning rate),
 * training-checkpoint.ts (checkpoint I/O), training-log.ts (loss curve), validation.ts,
 * training-manifest.ts (what a checkpoint records), training-progress.ts (the injected reporter).
 */
import { defaults } from '../config/defaults.js';
import { exportBrick } from '../export/export-brick.js';
import { countParameters } from '../student/config.js';
import { restoreBestCheckpoint } from './best-checkpoint.js';
import { checkDataFloor } from './data-floor.js';
import { patienceExhausted } from './early-stopping.js';
import { epochBatches, type Row } from './packing.js';
import { microBatchFeeds } from './micro-batches.js';
import { prepareRun, type PreparedRun, type TrainOptions } from './prepare-run.js';
import { learningRateAt } from './schedule.js';
import { TrainingDivergedError } from './training-diverged-error.js';
import { answerFacts, manifestFor } from './training-manifest.js';
import { describePlan, planTraining } from './training-plan.js';
import { evaluationLogReporter, type TrainingProgressReporter } from './training-progress.js';
import { TrainingSession } from './training-session.js';

export type { TrainOptions } from './prepare-run.js';
export { TrainingDivergedError } from './training-diverged-error.js';

export type StopReason = 'max-steps' | 'early-stop' | 'interrupted';

export interface TrainSummary {
  params: number;
  steps: number;
  /** Document tokens trained on (padding excluded), over the whole run. */
  tokens: number;
  initialLoss: number | null;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  /** The step of the best validation loss: the weights exported (null: no validation set). */
  bestStep: number | null;
  bestValLoss: number | null;
  /** Document tokens per second of this invocation's training loop. */
  tokensPerSecond: number;
  /** Wall time of this invocation, preparation included. */
  seconds: number;
  out: string;
  paddingFraction: number;
  skippedLongExamples: number;
  truncatedLongExamples: number;
  trainExamples: number;
  validationExamples: number;
  stopReason: StopReason;
  resumedFromStep: number | null;
  checkpoint: string;
  export: string | null;
  /** Parameters the optimizer updated (the LoRA adapter's, or every weight). */
  trainableParameters: number;
  /** Peak resident memory of this process so far (process.resourceUsage().maxRSS), MiB. */
  peakRssMb: number;
}

/** What this invocation's loop did. */
interface LoopRecord {
  stopReason: StopReason;
  /** This invocation's step losses. */
  losses: number[];
  /** Document tokens this invocation trained on. */
  tokens: number;
  started: number;
  seconds: number;
}

export async function trainStudent(options: TrainOptions): Promise<TrainSummary> {
  const started = performance.now();
  const say = options.log ?? (() => undefined);

  // 1. Data, tokenizer, settings, resume point.
  const run = await prepareRun(options);
  checkRunData(run, options, say);
  const answers = answerFacts(run);

  // 2. Packing and schedule. Rows are packed once; each epoch reorders them (seed, epoch).
  const plan = planTraining(run);
  say(describePlan(run, options, plan));

  // 3. The trainer: initial weights, or the checkpoint's weights + AdamW moments + step count.
  const session = await TrainingSession.open(run, options, plan, answers, say);

  // 4. The loop.
  const loop = await trainSteps(session, options.signal, options.progress ?? evaluationLogReporter(say));

  // 5. Final validation (unless the last step had one), final checkpoint, export, summary.
  if (loop.stopReason !== 'interrupted' && session.validatedAtStep !== session.state.step)
    await session.validate(true);
  await session.saveCheckpoint();
  const exported = await exportBest(session, loop.stopReason, say);
  const summary = summarize(session, loop, started, exported);
  await session.release();
  return summary;
}

/** The data floor (too little data is refused) and a note on examples longer than the context. */
function checkRunData(run: PreparedRun, options: TrainOptions, say: (line: string) => void): void {
  const { settings, train, validation } = run;
  checkDataFloor(
    options.dataFile,
    {
      train: Math.round(train.documents.length / (1 + settings.nameCopies)), // renamed copies aside
      validation: validation.documents.length,
    },
    settings.allowSmallData,
  );
  const long = train.longExamples + validation.longExamples;
  if (long > 0)
    say(
      `${long} examples are longer than the ${settings.sequenceLength}-token context: ` +
        (settings.longExamples === 'skip'
          ? 'skipped (--long-examples truncate keeps their beginning)'
          : 'truncated'),
    );
}

/** Steps until the budget, early stopping or the signal; a diverged loss throws (no checkpoint). */
async function trainSteps(
  session: TrainingSession,
  signal: AbortSignal | undefined,
  reporter: TrainingProgressReporter,
): Promise<LoopRecord> {
  const { state, plan, run } = session;
  const { settings } = run;
  const loop: LoopRecord = { stopReason: 'max-steps', losses: [], tokens: 0, started: 0, seconds: 0 };
  if (patienceExhausted(state.progress, settings.patience)) {
    // Resumed from a run that stopped early: it stays stopped unless --patience grows.
    loop.stopReason = 'early-stop';
    session.validatedAtStep = state.step;
  }
  let batches = epochBatches(plan.rows, plan.stepRows, settings.seed, state.data.epoch);
  loop.started = performance.now();
  try {
    while (state.step < plan.schedule.totalSteps && loop.stopReason !== 'early-stop') {
      if (signal?.aborted) {
        loop.stopReason = 'interrupted';
        break;
      }
      batches = currentEpochBatches(session, batches);
      const loss = await trainStep(session, batches[state.data.batchCursor]!, loop);
      const finished = state.step === plan.schedule.totalSteps;
      if (state.step % settings.evalEvery === 0 || finished) {
        await session.validate(finished);
        if (patienceExhausted(state.progress, settings.patience)) loop.stopReason = 'early-stop';
      }
      reporter.step(stepReport(session, loop, loss));
      if (loop.stopReason === 'early-stop') break;
      if (state.step % settings.checkpointEvery === 0 && !finished) await session.saveCheckpoint();
    }
  } catch (error) {
    await session.trainer.release();
    throw error;
  } finally {
    await session.log.close();
  }
  reporter.done();
  loop.seconds = (performance.now() - loop.started) / 1000;
  state.progress.seconds += loop.seconds;
  return loop;
}

/** The epoch's batches; past its last batch, the next epoch's (reordered by seed and epoch). */
function currentEpochBatches(session: TrainingSession, batches: Row[][]): Row[][] {
  const { data } = session.state;
  if (data.batchCursor < batches.length) return batches;
  data.epoch += 1;
  data.batchCursor = 0;
  return epochBatches(session.plan.rows, session.plan.stepRows, session.run.settings.seed, data.epoch);
}

/** One optimizer step on one batch; returns its loss. */
async function trainStep(session: TrainingSession, batch: Row[], loop: LoopRecord): Promise<number> {
  const { state, plan, run } = session;
  const { documents } = run.train;
  const packed = microBatchFeeds(documents, batch, plan.shape, plan.microBatches, run.tokenizer.padTokenId); // (B / n, T) each
  const learningRate = learningRateAt(state.step + 1, plan.schedule);
  const { loss, gradientNorm } = await session.trainer.step(packed.feeds, learningRate);
  const exploded =
    state.progress.initialLoss !== null && loss > defaults.train.explodeFactor * state.progress.initialLoss;
  if (!Number.isFinite(loss) || !Number.isFinite(gradientNorm) || exploded)
    throw divergence(state.step + 1, loss, gradientNorm, session.lastCheckpoint);
  state.step += 1;
  state.data.batchCursor += 1;
  state.progress.initialLoss ??= loss;
  state.progress.tokens += packed.tokens;
  state.progress.targetTokens += packed.targetTokens;
  loop.tokens += packed.tokens;
  loop.losses.push(loss);
  state.progress.trainLoss = recentMean(loop.losses);
  await session.log.append({ step: state.step, loss, gradientNorm, learningRate, tokens: packed.tokens });
  return loss;
}

function stepReport(session: TrainingSession, loop: LoopRecord, loss: number) {
  const { state, plan, run } = session;
  const elapsed = (performance.now() - loop.started) / 1000;
  return {
    step: state.step,
    totalSteps: plan.schedule.totalSteps,
    loss,
    trainLoss: state.progress.trainLoss,
    validationLoss: state.progress.validationLoss,
    tokensPerSecond: loop.tokens / elapsed,
    remainingSeconds: ((plan.schedule.totalSteps - state.step) * elapsed) / loop.losses.length,
    evaluation: state.step % run.settings.evalEvery === 0,
  };
}

function divergence(
  step: number,
  loss: number,
  gradientNorm: number,
  lastCheckpoint: string | null,
): TrainingDivergedError {
  const kept =
    lastCheckpoint === null
      ? 'no checkpoint had been written yet'
      : `the last good checkpoint is ${lastCheckpoint} (kept as it was)`;
  return new TrainingDivergedError(
    `training diverged at step ${step} (loss ${loss}, gradient norm ${gradientNorm}); ${kept}; ` +
      'lower the learning rate (--learning-rate) and train again, or --resume with a lower --learning-rate',
  );
}

/**
 * Restores the best validation step's weights (when it is not the last step) and exports them
 * as a brick when asked; returns the brick's directory.
 */
async function exportBest(
  session: TrainingSession,
  stopReason: StopReason,
  say: (line: string) => void,
): Promise<string | null> {
  const { state, options, run } = session;
  if (stopReason === 'interrupted') return null;
  const { bestStep } = state.progress;
  let exportState = state; // the state whose weights are exported: the best validation step's
  if (bestStep !== null && bestStep !== state.step) {
    const { directory, state: best } = await restoreBestCheckpoint(
      session.trainer,
      options.outDirectory,
      bestStep,
    );
    exportState = best;
    say(
      `the best validation loss ${state.progress.bestValidationLoss?.toFixed(4)} was at step ${bestStep} ` +
        `(last: ${state.progress.validationLoss?.toFixed(4)} at step ${state.step}): its weights (${directory}) are the run's export`,
    );
  }
  if (options.exportDirectory === undefined) return null;
  const manifest = manifestFor(run, options, exportState, session.answers);
  const result = await exportBrick({
    architecture: run.architecture,
    weights: session.exportWeights(),
    tokenizerDirectory: options.outDirectory,
    role: options.role,
    lineage: manifest.lineage!,
    metrics: manifest.metrics!,
    answerTerms: manifest.answerTerms,
    answerAssociations: manifest.answerAssociations,
    outDirectory: options.exportDirectory,
  });
  return result.outDirectory;
}

const round = (value: number | null, digits = 4): number | null =>
  value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits;

/** Mean of the last few step losses (the number to report as "the" training loss). */
const recentMean = (losses: readonly number[]): number | null =>
  losses.length === 0
    ? null
    : losses.slice(-10).reduce((sum, loss) => sum + loss, 0) / Math.min(10, losses.length);

function summarize(
  session: TrainingSession,
  loop: LoopRecord,
  started: number,
  exported: string | null,
): TrainSummary {
  const { state, run, options, plan } = session;
  const { progress } = state;
  return {
    params: countParameters(run.architecture),
    steps: state.step,
    tokens: progress.tokens,
    initialLoss: round(progress.initialLoss),
    finalTrainLoss: round(progress.trainLoss),
    finalValLoss: round(progress.validationLoss),
    bestStep: progress.bestStep,
    bestValLoss: round(progress.bestValidationLoss),
    tokensPerSecond: Math.round(loop.tokens / Math.max(loop.seconds, 1e-9)),
    seconds: round((performance.now() - started) / 1000, 2) as number,
    out: options.outDirectory,
    paddingFraction: round(plan.padding) as number,
    skippedLongExamples: run.train.skipped + run.validation.skipped,
    truncatedLongExamples: run.train.truncated + run.validation.truncated,
    trainExamples: run.train.documents.length,
    validationExamples: run.validation.documents.length,
    stopReason: loop.stopReason,
    resumedFromStep: session.resumedFromStep,
    checkpoint: session.lastCheckpoint ?? '',
    export: exported,
    trainableParameters: session.trainer.trainableParameterCount(),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}
