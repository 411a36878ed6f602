/**
 * Step 3 of a training run: the trainer (one ONNX graph: forward + backward + AdamW) with its
 * weights (initial, or the checkpoint's weights + AdamW moments + step count on resume), the
 * run's state, its loss log, and what the loop does besides stepping: validate, measure
 * routing, checkpoint.
 */
import { join } from 'node:path';
import { defaults } from '../config/defaults.js';
import { Trainer } from '../engine/trainer.js';
import { initializeWeights } from '../student/initialize.js';
import { initializeLora, mergeLora } from '../student/lora.js';
import { growthModel, initialGrowthWeights } from '../student/moe-growth.js';
import { RoutingMetrics } from '../student/moe-metrics.js';
import { recordValidation } from './early-stopping.js';
import { growthCheckpointMoments, growthCheckpointWeights } from './moe-growth-run.js';
import { batchFeeds } from './packing.js';
import { type PreparedRun, type TrainOptions } from './prepare-run.js';
import { studentModel } from './student-model.js';
import { type TrainingState, trainingFiles, writeTrainingCheckpoint } from './training-checkpoint.js';
import { TrainingLog } from './training-log.js';
import { type AnswerFacts, manifestFor } from './training-manifest.js';
import { type TrainingPlan } from './training-plan.js';
import { validationLoss } from './validation.js';
import { lossWeightFeed, weightedLossModel } from './micro-batches.js';

export class TrainingSession {
  /** The step of the last validation (-1: none in this invocation). */
  validatedAtStep = -1;

  private constructor(
    readonly run: PreparedRun,
    readonly options: TrainOptions,
    readonly plan: TrainingPlan,
    readonly answers: AnswerFacts,
    readonly trainer: Trainer,
    readonly state: TrainingState,
    readonly log: TrainingLog,
    /** MoE students (not LoRA): expert shares, routing entropy and utilization at each evaluation. */
    private readonly routingMetrics: RoutingMetrics | undefined,
    /** The newest checkpoint directory (on resume: the one resumed from). */
    public lastCheckpoint: string | null,
    /** The step this invocation resumed from (null: a fresh run). */
    readonly resumedFromStep: number | null,
  ) {}

  static async open(
    run: PreparedRun,
    options: TrainOptions,
    plan: TrainingPlan,
    answers: AnswerFacts,
    say: (line: string) => void,
  ): Promise<TrainingSession> {
    const { resumeFrom } = run;
    const trainer = await createTrainer(run, options, plan);
    // Full fine-tuning: the trainer holds its own copy of the base's weights; let the loaded ones go.
    if (loraOf(run) === undefined) run.base?.checkpoint.weights.clear();
    const state = resumeFrom?.state ?? freshState(run, options, plan);
    if (resumeFrom !== undefined) {
      trainer.restore(new Map([...resumeFrom.weights, ...resumeFrom.moments]), state.step);
      Object.assign(state, { settings: run.settings, schedule: plan.schedule });
      say(
        `resuming from ${resumeFrom.directory} (step ${state.step}, epoch ${state.data.epoch}, batch ${state.data.batchCursor})`,
      );
    }
    const log = await TrainingLog.open(join(options.outDirectory, trainingFiles.log), state.step);
    const routingMetrics =
      loraOf(run) === undefined
        ? await RoutingMetrics.create(run.architecture, plan.shape.rows, plan.shape.length)
        : undefined;
    const resumedFromStep = resumeFrom === undefined ? null : state.step;
    return new TrainingSession(
      run,
      options,
      plan,
      answers,
      trainer,
      state,
      log,
      routingMetrics,
      resumeFrom?.directory ?? null,
      resumedFromStep,
    );
  }

  /** Writes a checkpoint of the current weights, AdamW moments and state. */
  async saveCheckpoint(): Promise<void> {
    const { trainer, state, run } = this;
    state.createdAt = new Date().toISOString();
    const moments = new Map(
      trainer
        .stateNames()
        .filter((name) => name.startsWith('adam_'))
        .map((name) => [name, trainer.value(name)]),
    );
    const { growth, architecture } = run;
    const checkpoint =
      growth === undefined
        ? { state, weights: trainer.parameters(), moments }
        : {
            state,
            weights: growthCheckpointWeights(growth, trainer.parameters(), architecture),
            moments: growthCheckpointMoments(growth, moments, architecture),
          };
    this.lastCheckpoint = await writeTrainingCheckpoint(
      this.options.outDirectory,
      checkpoint,
      manifestFor(run, this.options, state, this.answers),
      defaults.train.keepCheckpoints,
    );
  }

  /**
   * Validates; a new best validation loss is checkpointed at once (it is what gets exported),
   * except at the last step, whose checkpoint the end of the run writes.
   */
  async validate(last: boolean): Promise<void> {
    const { state, plan } = this;
    this.validatedAtStep = state.step;
    const padTokenId = this.run.tokenizer.padTokenId;
    const loss = await validationLoss(
      this.trainer,
      plan.validationSet,
      plan.shape,
      padTokenId,
      plan.microBatches > 1 ? lossWeightFeed(1) : {}, // the micro-batched model's loss weight
    ); // mean per target token
    if (loss === null) return;
    state.progress.validationLoss = loss;
    const routing = await this.measureRouting();
    await this.log.append({
      step: state.step,
      validationLoss: loss,
      ...(routing === undefined ? {} : { routing }),
    });
    if (recordValidation(state.progress, loss, state.step, this.run.settings.minDelta) && !last)
      await this.saveCheckpoint();
  }

  /** The weights a brick gets (see exportWeights). */
  exportWeights(): Map<string, Float32Array> {
    return exportWeights(this.run, this.trainer.parameters());
  }

  async release(): Promise<void> {
    await this.trainer.release();
    await this.routingMetrics?.release();
  }

  private async measureRouting() {
    if (this.routingMetrics === undefined) return undefined;
    const { validationSet, shape } = this.plan;
    const weights = this.run.growth === undefined ? this.trainer.parameters() : this.exportWeights();
    const batches = validationSet.batches.map(
      (batch) => batchFeeds(validationSet.documents, batch, shape, this.run.tokenizer.padTokenId).feeds,
    );
    return this.routingMetrics.measure(weights, batches);
  }
}

async function createTrainer(run: PreparedRun, options: TrainOptions, plan: TrainingPlan): Promise<Trainer> {
  const { architecture, settings, growth, resumeFrom } = run;
  const lora = loraOf(run);
  // LoRA dropout's masks: seeded by the run seed and the step the session starts from, so a resumed
  // run draws fresh masks rather than replaying step 1's (it is not bit-identical to an unbroken run).
  const dropoutSeed = settings.seed + 7919 * (resumeFrom?.state.step ?? 0);
  const student = studentModel(architecture, plan.shape, lora, dropoutSeed);
  const model =
    growth === undefined ? student : growthModel(architecture, growth.record.oldExperts, student.buildLoss);
  return Trainer.create({
    // Several micro-batches: each one's loss is weighted by its share of the step's targets.
    model: plan.microBatches > 1 ? weightedLossModel(model) : model,
    microBatches: plan.microBatches,
    ...(settings.dataParallel > 1 ? { workers: settings.dataParallel } : {}),
    initialParameters: resumeFrom?.weights ?? initialWeights(run),
    frozenValues: growth?.frozen ?? (lora === undefined ? undefined : run.base?.checkpoint.weights),
    optimizer: { weightDecay: settings.weightDecay, maxGradientNorm: settings.gradientClip },
    session: {
      ...(settings.deterministic
        ? { intraOpNumThreads: 1 }
        : options.threads === undefined
          ? {}
          : { intraOpNumThreads: options.threads }),
      // Asked to save memory: no arena keeping freed blocks, no whole-run memory plan (measured at
      // SmolLM2-135M's shape, LoRA 4 × 512: 10.7 GB → 5.6 GB; see docs/pretrained-students.md).
      ...(settings.microBatchSize === undefined ? {} : { enableCpuMemArena: false, enableMemPattern: false }),
    },
  });
}

function freshState(run: PreparedRun, options: TrainOptions, plan: TrainingPlan): TrainingState {
  const { settings } = run;
  return {
    magic: 'dnc-train-checkpoint',
    version: 1,
    role: options.role,
    preset: run.presetName,
    architecture: run.architecture,
    settings,
    dataHash: run.dataHash,
    teacher: options.teacher ?? null,
    base: run.base?.reference ?? null,
    step: 0,
    data: { epoch: 0, batchCursor: 0, batchesPerEpoch: plan.batchesPerEpoch },
    random: { generator: 'xoroshiro128plus', seed: settings.seed },
    schedule: plan.schedule,
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
}

/** The LoRA adapter being trained, if any. */
const loraOf = (run: PreparedRun) => run.base?.reference.lora ?? undefined;

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
