/**
 * Sequence packing: encoded chat examples (documents) are placed whole into rows of T positions
 * (first fit over a seeded shuffle of the documents), so that short examples share a row instead of
 * each padding one out to T. Each row is turned into the batch tensors of student-model.ts; a
 * document of L tokens fills L − 1 positions (input token i predicts token i + 1), and its segment
 * id keeps its attention inside the document.
 *
 * Packing happens once per run; each epoch shuffles the order of the rows (seeded by the run seed
 * and the epoch), so an epoch's batches are a pure function of (seed, epoch) and a resumed run can
 * rebuild them from its checkpoint's data position.
 */
import { type Feeds, tensor } from '../engine/session.js';
import { deriveSeed, Random } from '../worlds/random.js';
import { type BatchShape, studentBatchNames } from './student-model.js';

export interface Document {
  /** Token ids, `<|bos|>` first. */
  inputIds: readonly number[];
  /** 1 where predicting this token counts in the loss (the chat encoder's mask). */
  lossMask: readonly number[];
}

/** Positions a document fills in a row: one per predicted token. */
export const documentPositions = (document: Document): number => document.inputIds.length - 1;

/** A row: the indices of the documents it holds, in order. */
export type Row = readonly number[];

/** Fisher–Yates shuffle of 0 .. count − 1 with the world's seeded generator (pure-rand). */
export function seededPermutation(count: number, seed: number, label: string): number[] {
  const random = new Random(deriveSeed(seed, label));
  const order = Array.from({ length: count }, (_, index) => index);
  for (let index = count - 1; index > 0; index -= 1) {
    const other = random.integer(0, index);
    [order[index], order[other]] = [order[other] as number, order[index] as number];
  }
  return order;
}

/**
 * First-fit packing of the documents `order` names into rows of `length` positions: each document
 * goes into the first row with room for it, or opens a new row. Every document must fit a row.
 */
export function packRows(documents: readonly Document[], order: readonly number[], length: number): Row[] {
  const rows: number[][] = [];
  const room: number[] = [];
  for (const index of order) {
    const size = documentPositions(documents[index] as Document);
    if (size > length) throw new Error(`document ${index} fills ${size} positions but a row holds ${length}`);
    let target = room.findIndex((free) => free >= size);
    if (target === -1) {
      target = rows.length;
      rows.push([]);
      room.push(length);
    }
    (rows[target] as number[]).push(index);
    room[target] = (room[target] as number) - size;
  }
  return rows;
}

/** Groups rows into batches of `rowsPerBatch` (the last batch may be short; it is padded when fed). */
export function batchRows(rows: readonly Row[], rowsPerBatch: number): Row[][] {
  const batches: Row[][] = [];
  for (let start = 0; start < rows.length; start += rowsPerBatch)
    batches.push(rows.slice(start, start + rowsPerBatch));
  return batches;
}

/** The training batches of one epoch: the packed rows in a seeded order, grouped by batch size. */
export function epochBatches(
  rows: readonly Row[],
  rowsPerBatch: number,
  seed: number,
  epoch: number,
): Row[][] {
  const order = seededPermutation(rows.length, seed, `train-epoch-${epoch}`);
  return batchRows(
    order.map((index) => rows[index] as Row),
    rowsPerBatch,
  );
}

/** Positions holding a real token, over every position of the padded batches. */
export function paddingFraction(
  documents: readonly Document[],
  batches: readonly Row[][],
  shape: BatchShape,
): number {
  const capacity = batches.length * shape.rows * shape.length;
  let used = 0;
  for (const batch of batches)
    for (const row of batch) for (const index of row) used += documentPositions(documents[index] as Document);
  return capacity === 0 ? 0 : 1 - used / capacity;
}

/** Positions of a document whose target counts in the loss. */
const documentTargets = (document: Document): number =>
  document.lossMask.reduce((sum, flag, index) => (index === 0 ? sum : sum + flag), 0);

/**
 * The K of a batch shape that feeds loss positions only: the most loss positions any batch of
 * `rowsPerBatch` of these rows can hold (the sum of the largest row counts), so every epoch's
 * batches fit whatever order they come in, rounded up to a multiple of 8 and at most B·T.
 */
export function targetCapacity(
  documents: readonly Document[],
  rows: readonly Row[],
  shape: Pick<BatchShape, 'rows' | 'length'>,
): number {
  const perRow = rows
    .map((row) => row.reduce((sum, index) => sum + documentTargets(documents[index] as Document), 0))
    .sort((left, right) => right - left);
  const most = perRow.slice(0, shape.rows).reduce((sum, count) => sum + count, 0);
  return Math.min(Math.max(8, Math.ceil(most / 8) * 8), shape.rows * shape.length);
}

/**
 * The K of the batches a run will actually feed: the most loss positions any micro-batch of
 * `shape.rows` rows among `batches` holds, rounded up to a multiple of 8 and at most B·T. An epoch's
 * batches are a pure function of (seed, epoch), so the planner can list every batch of the run in
 * advance; this K is their true maximum (1,128 for the quickstart decomposer), where
 * `targetCapacity`'s order-free bound (the fullest rows together: 1,392) leaves about a fifth of the
 * head and of the last layer's gathered rows as padding.
 */
export function plannedTargetCapacity(
  documents: readonly Document[],
  batches: Iterable<readonly Row[]>,
  shape: Pick<BatchShape, 'rows' | 'length'>,
): number {
  let most = 0;
  for (const batch of batches)
    for (let start = 0; start < batch.length; start += shape.rows) {
      let count = 0;
      for (const row of batch.slice(start, start + shape.rows))
        for (const index of row) count += documentTargets(documents[index] as Document);
      most = Math.max(most, count);
    }
  return Math.min(Math.max(8, Math.ceil(most / 8) * 8), shape.rows * shape.length);
}

export interface PackedBatch {
  feeds: Feeds;
  /** Positions holding a document token (not padding). */
  tokens: number;
  /** Positions whose target counts in the loss. */
  targetTokens: number;
}

/**
 * The batch tensors for a batch of rows; missing rows and row tails are padding. Targets and mask
 * are (B, T), or (K) at the loss positions alone when the shape has `targets` (see student-model.ts).
 */
export function batchFeeds(
  documents: readonly Document[],
  batch: readonly Row[],
  shape: BatchShape,
  padTokenId: number,
): PackedBatch {
  const { rows: B, length: T, targets: K } = shape;
  if (batch.length > B) throw new Error(`a batch of ${batch.length} rows does not fit a graph of ${B} rows`);
  const inputIds = new BigInt64Array(B * T).fill(BigInt(padTokenId)); // (B, T)
  const targets = new BigInt64Array(B * T); // (B, T)
  const lossMask = new Float32Array(B * T); // (B, T)
  const segmentIds = new BigInt64Array(B * T); // (B, T): 0 = padding
  let tokens = 0;
  let targetTokens = 0;
  batch.forEach((row, rowIndex) => {
    let position = rowIndex * T;
    row.forEach((documentIndex, segment) => {
      const { inputIds: ids, lossMask: mask } = documents[documentIndex] as Document;
      for (let index = 0; index + 1 < ids.length; index += 1, position += 1) {
        inputIds[position] = BigInt(ids[index] as number);
        targets[position] = BigInt(ids[index + 1] as number);
        lossMask[position] = mask[index + 1] as number;
        segmentIds[position] = BigInt(segment + 1);
        targetTokens += mask[index + 1] as number;
      }
      tokens += ids.length - 1;
    });
  });
  const dims = [B, T];
  const feeds = {
    [studentBatchNames.inputIds]: tensor('int64', inputIds, dims),
    [studentBatchNames.segmentIds]: tensor('int64', segmentIds, dims),
    ...(K === undefined
      ? {
          [studentBatchNames.targets]: tensor('int64', targets, dims),
          [studentBatchNames.lossMask]: tensor('float32', lossMask, dims),
        }
      : lossPositionFeeds(targets, lossMask, K)),
  };
  return { feeds, tokens, targetTokens };
}

/** Targets (K), mask (K) and flat positions (K) of the loss positions, padded with zeros. */
function lossPositionFeeds(targets: BigInt64Array, lossMask: Float32Array, K: number): Feeds {
  const positions = new BigInt64Array(K); // (K)
  const kept = new BigInt64Array(K); // (K)
  const mask = new Float32Array(K); // (K)
  let count = 0;
  lossMask.forEach((flag, position) => {
    if (flag === 0) return;
    if (count === K) throw new Error(`a batch has more than the ${K} loss positions its graph was built for`);
    positions[count] = BigInt(position);
    kept[count] = targets[position] as bigint;
    mask[count] = flag;
    count += 1;
  });
  return {
    [studentBatchNames.targetPositions]: tensor('int64', positions, [K]),
    [studentBatchNames.targets]: tensor('int64', kept, [K]),
    [studentBatchNames.lossMask]: tensor('float32', mask, [K]),
  };
}
