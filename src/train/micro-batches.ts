/**
 * Gradient accumulation for `dnc train --micro-batch-size N`: an optimizer step over `batchSize`
 * rows runs as batchSize / N micro-batches of N rows, each a forward + backward of its own, whose
 * gradients the engine sums before one AdamW update (src/engine/trainer.ts, `microBatches`). Only
 * one micro-batch's activations are alive at a time, which is what bounds the step's memory.
 *
 * The loss is a mean per target token (maskedCrossEntropy), so the plain mean of the micro-batches'
 * gradients would weigh a micro-batch of few targets as much as one of many. Each micro-batch's loss
 * is therefore multiplied by a fed weight, n · targets_i / Σ targets, and the engine scales the sum
 * by 1 / n: the update is Σ (targets_i / Σ targets) · ∇loss_i = ∇ of the whole batch's mean, the
 * same update as one batch of `batchSize` rows up to float rounding (test/train/micro-batches.test.ts).
 */
import { UserError } from '../errors/user-error.js';
import { type Feeds, tensor } from '../engine/session.js';
import { type TrainableModel } from '../engine/training-graphs.js';
import { batchFeeds, type Document, type Row } from './packing.js';
import { type BatchShape } from './student-model.js';

/** The batch input that weighs a micro-batch's loss (present only when a step has several). */
export const lossWeightName = 'loss_weight';

/**
 * Micro-batches per optimizer step: batchSize / microBatchSize, and at least one per data-parallel
 * worker (each worker takes an equal share). One line naming the flags when they do not divide.
 */
export function microBatchCount(settings: {
  batchSize: number;
  microBatchSize?: number;
  dataParallel?: number;
}): number {
  const { batchSize, microBatchSize, dataParallel: workers = 1 } = settings;
  if (microBatchSize === undefined && batchSize % workers !== 0)
    throw new UserError(
      `--data-parallel ${workers} must divide --batch-size ${batchSize} (each worker takes an equal share of the rows); ` +
        'change one of them',
    );
  const size = microBatchSize ?? batchSize / workers;
  if (size > batchSize || batchSize % size !== 0)
    throw new UserError(
      `--micro-batch-size ${size} must divide --batch-size ${batchSize} ` +
        '(for example 1, or a divisor of the batch size); lower it or change --batch-size',
    );
  const count = batchSize / size;
  if (count % workers !== 0)
    throw new UserError(
      `--data-parallel ${workers} must divide the ${count} micro-batches of a step (--batch-size ${batchSize} / ` +
        `--micro-batch-size ${size}); change --data-parallel or --micro-batch-size`,
    );
  return count;
}

/** The model with its loss multiplied by the `loss_weight` batch input (a scalar). */
export function weightedLossModel(model: TrainableModel): TrainableModel {
  return {
    ...model,
    buildLoss: (graph, parameters) =>
      graph.mul(model.buildLoss(graph, parameters), graph.input(lossWeightName, 'float32', [])),
  };
}

/** The feed of a loss weight (1 for evaluation: the loss graph then reports the plain mean). */
export const lossWeightFeed = (weight: number): Feeds => ({
  [lossWeightName]: tensor('float32', Float32Array.of(weight), []),
});

export interface MicroBatchedStep {
  /** One feed set per micro-batch, each with its loss weight when there are several. */
  feeds: Feeds[];
  tokens: number;
  targetTokens: number;
}

/**
 * The feeds of one optimizer step: the batch's rows cut into `count` micro-batches of
 * `shape.rows` rows (a short last batch leaves trailing micro-batches all padding, weight 0).
 */
export function microBatchFeeds(
  documents: readonly Document[],
  batch: readonly Row[],
  shape: BatchShape,
  count: number,
  padTokenId: number,
): MicroBatchedStep {
  const packed = Array.from({ length: count }, (_, index) =>
    batchFeeds(documents, batch.slice(index * shape.rows, (index + 1) * shape.rows), shape, padTokenId),
  );
  const tokens = packed.reduce((sum, part) => sum + part.tokens, 0);
  const targetTokens = packed.reduce((sum, part) => sum + part.targetTokens, 0);
  if (count === 1) return { feeds: [packed[0]!.feeds], tokens, targetTokens };
  const feeds = packed.map((part) => ({
    ...part.feeds,
    ...lossWeightFeed((count * part.targetTokens) / Math.max(targetTokens, 1)),
  }));
  return { feeds, tokens, targetTokens };
}
