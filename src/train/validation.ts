/**
 * Validation loss: the held-out documents packed once (first fit, in file order) into batches of
 * the training shape, run through the forward-only loss graph, and averaged per target token over
 * the whole set (each batch's mean weighted by its target count), so the number does not depend on
 * how the documents fell into batches.
 */
import { type Feeds } from '../engine/session.js';
import { type Trainer } from '../engine/trainer.js';
import { type BatchShape } from './student-model.js';
import { batchFeeds, batchRows, type Document, packRows, type Row } from './packing.js';

export interface ValidationSet {
  documents: readonly Document[];
  batches: Row[][];
}

export function packValidation(documents: readonly Document[], shape: BatchShape): ValidationSet {
  const order = documents.map((_, index) => index);
  return { documents, batches: batchRows(packRows(documents, order, shape.length), shape.rows) };
}

/** Mean loss per target token over the validation set; null when there is nothing to validate on. */
export async function validationLoss(
  trainer: Trainer,
  set: ValidationSet,
  shape: BatchShape,
  padTokenId: number,
  /** Feeds every batch also gets (e.g. the loss weight of a micro-batched model: 1). */
  extraFeeds: Feeds = {},
): Promise<number | null> {
  let total = 0;
  let targets = 0;
  for (const batch of set.batches) {
    const packed = batchFeeds(set.documents, batch, shape, padTokenId);
    if (packed.targetTokens === 0) continue;
    total += (await trainer.evaluate({ ...packed.feeds, ...extraFeeds })) * packed.targetTokens;
    targets += packed.targetTokens;
  }
  return targets === 0 ? null : total / targets;
}
