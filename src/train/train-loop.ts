/**
 * `dnc train`'s main loop, top to bottom:
 *
 *   1. prepare: data, tokenizer, split, settings (or all of it from the checkpoint on --resume)
 *   2. pack the training documents into rows of T tokens; plan the schedule
 *   3. build the trainer (one ONNX graph: forward + backward + AdamW) and restore its state on resume
 *   4. loop: batch → step → log → validate every evalEvery → checkpoint every checkpointEvery,
 *      stopping at the step budget, on early stopping, on a stop signal (with a checkpoint) or on
 *      a diverged loss (without one: the last good checkpoint stays)
 *   5. final validation, final checkpoint, optional export, summary
 *
 * Helpers live beside this file: packing.ts (rows and batches), schedule.ts (learning rate),
 * training-checkpoint.ts (checkpoint I/O), training-log.ts (loss curve), validation.ts.
 */
import { decodeDocuments, frequentAnswerTerms } from './answer-terms.js';
import { wordAssociations } from '../runtime/generation/word-associations.js';
import { join } from 'node:path';
import { createProgress, formatDuration } from '../cli/progress.js';
import { UserError } from '../errors/user-error.js';
import { defaults } from '../config/defaults.js';
import { Trainer } from '../engine/trainer.js';
import { type CheckpointManifest } from '../export/checkpoint.js';
import { exportBrick } from '../export/export-brick.js';
import { countParameters } from '../student/config.js';
import { initializeWeights } from '../student/initialize.js';
import { initializeLora, mergeLora } from '../student/lora.js';
import { learningRateAt, type Schedule } from './schedule.js';
import {
  batchFeeds,
  epochBatches,
  packRows,
  paddingFraction,
  seededPermutation,
  targetCapacity,
} from './packing.js';
import { prepareRun, type PreparedRun, type TrainOptions } from './prepare-run.js';
import { type BatchShape, studentModel } from './student-model.js';
import { growthModel, initialGrowthWeights } from '../student/moe-growth.js';
import { growthCheckpointMoments, growthCheckpointWeights } from './moe-growth-run.js';
import { RoutingMetrics } from '../student/moe-metrics.js';
import { type TrainingState, trainingFiles, writeTrainingCheckpoint } from './training-checkpoint.js';
import { TrainingLog } from './training-log.js';
import { packValidation, validationLoss } from './validation.js';
import { patienceExhausted, recordValidation } from './early-stopping.js';
import { restoreBestCheckpoint } from './best-checkpoint.js';
import { checkDataFloor } from './data-floor.js';

export type { TrainOptions } from './prepare-run.js';

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

/** A NaN or exploding loss: the run stops without writing a checkpoint of the bad state. */
export class TrainingDivergedError extends UserError {}

const round = (value: number | null, digits = 4): number | null =>
  value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits;

/** Mean of the last few step losses (the number to report as "the" training loss). */
const recentMean = (losses: readonly number[]): number | null =>
  losses.length === 0
    ? null
    : losses.slice(-10).reduce((sum, loss) => sum + loss, 0) / Math.min(10, losses.length);

/** The most loss-masked tokens (assistant text + its end token) of one training document. */
function longestAnswerTokens(run: PreparedRun): number {
  let longest = 0;
  for (const document of run.train.documents) {
    let count = 0;
    for (const flag of document.lossMask) count += flag;
    longest = Math.max(longest, count);
  }
  return longest;
}

/** What the checkpoint manifest records about the training answers (read once per run). */
interface AnswerFacts {
  longestAnswerTokens: number;
  answerTerms: string[];
  answerAssociations: Record<string, string[]>;
}

function answerFacts(run: PreparedRun): AnswerFacts {
  const pairs = decodeDocuments(run.train.documents, run.tokenizer);
  return {
    longestAnswerTokens: longestAnswerTokens(run),
    answerTerms: frequentAnswerTerms(pairs),
    answerAssociations: wordAssociations(pairs),
  };
}

function manifestFor(
  run: PreparedRun,
  options: TrainOptions,
  state: TrainingState,
  answers: AnswerFacts,
): CheckpointManifest {
  const { settings } = run;
  return {
    role: options.role,
    architecture: run.architecture,
    lineage: {
      dataHash: run.dataHash,
      teacher: options.teacher ?? null,
      training: { preset: run.presetName, steps: state.step, ...settings },
    },
    metrics: {
      steps: state.step,
      trainLoss: state.progress.trainLoss,
      validationLoss: state.progress.validationLoss,
      longestAnswerTokens: answers.longestAnswerTokens,
    },
    answerTerms: answers.answerTerms,
    answerAssociations: answers.answerAssociations,
    ...(run.base === undefined ? {} : { base: run.base.reference }),
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
    { exitCode: 3 },
  );
}

export async function trainStudent(options: TrainOptions): Promise<TrainSummary> {
  const started = performance.now();
  const say = options.log ?? (() => undefined);

  // 1. Data, tokenizer, settings, resume point.
  const run = await prepareRun(options);
  const { architecture, settings, tokenizer, train, validation, resumeFrom } = run;
  checkDataFloor(
    options.dataFile,
    {
      train: Math.round(train.documents.length / (1 + settings.nameCopies)), // renamed copies aside
      validation: validation.documents.length,
    },
    settings.allowSmallData,
  );
  const answers = answerFacts(run);
  const rowShape = { rows: settings.batchSize, length: settings.sequenceLength }; // (B, T)
  const padTokenId = tokenizer.padTokenId;
  const params = countParameters(architecture);
  if (train.longExamples + validation.longExamples > 0)
    say(
      `${train.longExamples + validation.longExamples} examples are longer than the ${settings.sequenceLength}-token context: ` +
        (settings.longExamples === 'skip'
          ? 'skipped (--long-examples truncate keeps their beginning)'
          : 'truncated'),
    );

  // 2. Packing and schedule. Rows are packed once; each epoch reorders them (seed, epoch).
  const rows = packRows(
    train.documents,
    seededPermutation(train.documents.length, settings.seed, 'packing'),
    rowShape.length,
  );
  const validationSet = packValidation(validation.documents, rowShape);
  // The head runs at the loss positions only: K fits the fullest batch of either set.
  const validationRows = validationSet.batches.flat();
  const shape: BatchShape = {
    ...rowShape,
    targets: Math.max(
      targetCapacity(train.documents, rows, rowShape),
      targetCapacity(validation.documents, validationRows, rowShape),
    ),
  };
  const batchesPerEpoch = Math.ceil(rows.length / shape.rows);
  const padding = paddingFraction(train.documents, epochBatches(rows, shape.rows, settings.seed, 0), shape);
  const schedule: Schedule = {
    peak: settings.learningRate,
    minimum: settings.learningRate * defaults.train.minLearningRateFraction,
    warmupSteps: settings.warmupSteps,
    totalSteps: Math.min(settings.maxSteps, settings.epochs * batchesPerEpoch),
  };
  say(
    `${options.role} student ${run.presetName}: ${params.toLocaleString('en-US')} parameters, vocab ${architecture.vocabSize}; ` +
      `${train.documents.length} training / ${validation.documents.length} validation examples in ${rows.length} rows of ${shape.length} ` +
      `(${(padding * 100).toFixed(1)}% padding), ${batchesPerEpoch} batches of ${shape.rows} per epoch, ${schedule.totalSteps} steps`,
  );

  // 3. The trainer: initial weights, or the checkpoint's weights + AdamW moments + step count.
  const lora = run.base?.reference.lora ?? undefined;
  const { growth } = run;
  const student = studentModel(architecture, shape, lora);
  const trainer = await Trainer.create({
    model:
      growth === undefined ? student : growthModel(architecture, growth.record.oldExperts, student.buildLoss),
    initialParameters: resumeFrom?.weights ?? initialWeights(run),
    frozenValues: growth?.frozen ?? (lora === undefined ? undefined : run.base?.checkpoint.weights),
    optimizer: { weightDecay: settings.weightDecay, maxGradientNorm: settings.gradientClip },
    session: settings.deterministic
      ? { intraOpNumThreads: 1 }
      : options.threads === undefined
        ? {}
        : { intraOpNumThreads: options.threads },
  });
  // Full fine-tuning: the trainer holds its own copy of the base's weights; let the loaded ones go.
  if (lora === undefined) run.base?.checkpoint.weights.clear();
  const state: TrainingState = resumeFrom?.state ?? {
    magic: 'dnc-train-checkpoint',
    version: 1,
    role: options.role,
    preset: run.presetName,
    architecture,
    settings,
    dataHash: run.dataHash,
    teacher: options.teacher ?? null,
    base: run.base?.reference ?? null,
    step: 0,
    data: { epoch: 0, batchCursor: 0, batchesPerEpoch },
    random: { generator: 'xoroshiro128plus', seed: settings.seed },
    schedule,
    progress: {
      tokens: 0,
      targetTokens: 0,
      seconds: 0,
      initialLoss: null,
      trainLoss: null,
      validationLoss: null,
      bestValidationLoss: null,
      evaluationsWithoutImprovement: 0,
      bestStep: null,
    },
    createdAt: '',
  };
  if (resumeFrom !== undefined) {
    trainer.restore(new Map([...resumeFrom.weights, ...resumeFrom.moments]), state.step);
    Object.assign(state, { settings, schedule });
    say(
      `resuming from ${resumeFrom.directory} (step ${state.step}, epoch ${state.data.epoch}, batch ${state.data.batchCursor})`,
    );
  }
  const resumedFromStep = resumeFrom === undefined ? null : state.step;
  const log = await TrainingLog.open(join(options.outDirectory, trainingFiles.log), state.step);
  let lastCheckpoint: string | null = resumeFrom?.directory ?? null;
  const saveCheckpoint = async (): Promise<void> => {
    state.createdAt = new Date().toISOString();
    const moments = new Map(
      trainer
        .stateNames()
        .filter((name) => name.startsWith('adam_'))
        .map((name) => [name, trainer.value(name)]),
    );
    const checkpoint =
      growth === undefined
        ? { state, weights: trainer.parameters(), moments }
        : {
            state,
            weights: growthCheckpointWeights(growth, trainer.parameters(), architecture),
            moments: growthCheckpointMoments(growth, moments, architecture),
          };
    lastCheckpoint = await writeTrainingCheckpoint(
      options.outDirectory,
      checkpoint,
      manifestFor(run, options, state, answers),
      defaults.train.keepCheckpoints,
    );
  };
  let validatedAtStep = -1;
  // MoE students (not LoRA): expert shares, routing entropy and utilization at each evaluation.
  const routingMetrics =
    lora === undefined ? await RoutingMetrics.create(architecture, shape.rows, shape.length) : undefined;
  const measureRouting = async () => {
    if (routingMetrics === undefined) return undefined;
    const weights = growth === undefined ? trainer.parameters() : exportWeights(run, trainer.parameters());
    const batches = validationSet.batches.map(
      (batch) => batchFeeds(validationSet.documents, batch, shape, padTokenId).feeds,
    );
    return routingMetrics.measure(weights, batches);
  };
  /**
   * Validates; a new best validation loss is checkpointed at once (it is what gets exported),
   * except at the last step, whose checkpoint the end of the run writes.
   */
  const validate = async (last: boolean): Promise<void> => {
    validatedAtStep = state.step;
    const loss = await validationLoss(trainer, validationSet, shape, padTokenId); // mean per target token
    if (loss === null) return;
    state.progress.validationLoss = loss;
    const routing = await measureRouting();
    await log.append({
      step: state.step,
      validationLoss: loss,
      ...(routing === undefined ? {} : { routing }),
    });
    if (recordValidation(state.progress, loss, state.step, settings.minDelta) && !last)
      await saveCheckpoint();
  };

  // 4. The loop.
  const drawing = options.progress ?? process.stderr.isTTY === true; // else: a log line per evaluation
  const progress = createProgress({
    label: 'train',
    total: schedule.totalSteps - state.step,
    enabled: drawing,
  });
  const losses: number[] = [];
  let batches = epochBatches(rows, shape.rows, settings.seed, state.data.epoch);
  let stopReason: StopReason = 'max-steps';
  if (patienceExhausted(state.progress, settings.patience)) {
    // Resumed from a run that stopped early: it stays stopped unless --patience grows.
    stopReason = 'early-stop';
    validatedAtStep = state.step;
  }
  let loopTokens = 0;
  const loopStarted = performance.now();
  try {
    while (state.step < schedule.totalSteps && stopReason !== 'early-stop') {
      if (options.signal?.aborted) {
        stopReason = 'interrupted';
        break;
      }
      if (state.data.batchCursor >= batches.length) {
        state.data.epoch += 1;
        state.data.batchCursor = 0;
        batches = epochBatches(rows, shape.rows, settings.seed, state.data.epoch);
      }
      const packed = batchFeeds(train.documents, batches[state.data.batchCursor]!, shape, padTokenId); // (B, T) tensors
      const learningRate = learningRateAt(state.step + 1, schedule);
      const { loss, gradientNorm } = await trainer.step([packed.feeds], learningRate);
      const exploded =
        state.progress.initialLoss !== null &&
        loss > defaults.train.explodeFactor * state.progress.initialLoss;
      if (!Number.isFinite(loss) || !Number.isFinite(gradientNorm) || exploded)
        throw divergence(state.step + 1, loss, gradientNorm, lastCheckpoint);
      state.step += 1;
      state.data.batchCursor += 1;
      state.progress.initialLoss ??= loss;
      state.progress.tokens += packed.tokens;
      state.progress.targetTokens += packed.targetTokens;
      loopTokens += packed.tokens;
      losses.push(loss);
      state.progress.trainLoss = recentMean(losses);
      await log.append({ step: state.step, loss, gradientNorm, learningRate, tokens: packed.tokens });

      const finished = state.step === schedule.totalSteps;
      if (state.step % settings.evalEvery === 0 || finished) {
        await validate(finished);
        if (patienceExhausted(state.progress, settings.patience)) stopReason = 'early-stop';
      }
      const tokensPerSecond = loopTokens / ((performance.now() - loopStarted) / 1000);
      progress.tick(1, {
        loss: loss.toFixed(3),
        val: state.progress.validationLoss?.toFixed(3) ?? '-',
        'tok/s': Math.round(tokensPerSecond),
      });
      if (state.step % settings.evalEvery === 0 && !drawing) {
        const remaining =
          ((schedule.totalSteps - state.step) * (performance.now() - loopStarted)) / 1000 / losses.length;
        say(
          `step ${state.step}/${schedule.totalSteps}  loss ${state.progress.trainLoss?.toFixed(4)}  ` +
            `val ${state.progress.validationLoss?.toFixed(4) ?? '-'}  ${Math.round(tokensPerSecond)} tok/s  eta ${formatDuration(remaining)}`,
        );
      }
      if (stopReason === 'early-stop') break;
      if (state.step % settings.checkpointEvery === 0 && !finished) await saveCheckpoint();
    }
  } catch (error) {
    await trainer.release();
    throw error;
  } finally {
    await log.close();
  }
  progress.done();
  const loopSeconds = (performance.now() - loopStarted) / 1000;
  state.progress.seconds += loopSeconds;

  // 5. Final validation (unless the last step had one), final checkpoint, export, summary.
  if (stopReason !== 'interrupted' && validatedAtStep !== state.step) await validate(true);
  await saveCheckpoint();
  const { bestStep } = state.progress;
  let exportState = state; // the state whose weights are exported: the best validation step's
  if (stopReason !== 'interrupted' && bestStep !== null && bestStep !== state.step) {
    const { directory, state: best } = await restoreBestCheckpoint(trainer, options.outDirectory, bestStep);
    exportState = best;
    say(
      `the best validation loss ${state.progress.bestValidationLoss?.toFixed(4)} was at step ${bestStep} ` +
        `(last: ${state.progress.validationLoss?.toFixed(4)} at step ${state.step}): its weights (${directory}) are the run's export`,
    );
  }
  let exported: string | null = null;
  if (options.exportDirectory !== undefined && stopReason !== 'interrupted') {
    const manifest = manifestFor(run, options, exportState, answers);
    const result = await exportBrick({
      architecture,
      weights: exportWeights(run, trainer.parameters()),
      tokenizerDirectory: options.outDirectory,
      role: options.role,
      lineage: manifest.lineage!,
      metrics: manifest.metrics!,
      answerTerms: manifest.answerTerms,
      answerAssociations: manifest.answerAssociations,
      outDirectory: options.exportDirectory,
    });
    exported = result.outDirectory;
  }
  await trainer.release();
  await routingMetrics?.release();
  return {
    params,
    steps: state.step,
    tokens: state.progress.tokens,
    initialLoss: round(state.progress.initialLoss),
    finalTrainLoss: round(state.progress.trainLoss),
    finalValLoss: round(state.progress.validationLoss),
    bestStep,
    bestValLoss: round(state.progress.bestValidationLoss),
    tokensPerSecond: Math.round(loopTokens / Math.max(loopSeconds, 1e-9)),
    seconds: round((performance.now() - started) / 1000, 2) as number,
    out: options.outDirectory,
    paddingFraction: round(padding) as number,
    skippedLongExamples: train.skipped + validation.skipped,
    truncatedLongExamples: train.truncated + validation.truncated,
    trainExamples: train.documents.length,
    validationExamples: validation.documents.length,
    stopReason,
    resumedFromStep,
    checkpoint: lastCheckpoint ?? '',
    export: exported,
    trainableParameters: trainer.trainableParameterCount(),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** A fresh run's starting weights: LoRA's (A random, B zero), the base's, or a seeded initialization. */
function initialWeights(run: PreparedRun): Map<string, Float32Array> {
  const { base, architecture, settings, growth } = run;
  if (growth !== undefined)
    return initialGrowthWeights(growth.weights, architecture, growth.record.oldExperts, settings.seed);
  if (base === undefined) return initializeWeights(architecture, settings.seed);
  const { lora } = base.reference;
  return lora === null ? base.checkpoint.weights : initializeLora(architecture, lora, settings.seed);
}

/** The weights a brick gets: the trained ones, or with LoRA the base merged with the adapter. */
function exportWeights(run: PreparedRun, trained: Map<string, Float32Array>): Map<string, Float32Array> {
  if (run.growth !== undefined) return growthCheckpointWeights(run.growth, trained, run.architecture);
  const lora = run.base?.reference.lora;
  if (run.base === undefined || lora === null || lora === undefined) return trained;
  return mergeLora(run.architecture, run.base.checkpoint.weights, lora, trained);
}
