import { describe, expect, it } from 'vitest';
import { studentBatchNames } from '../../src/train/student-model.js';
import {
  batchFeeds,
  type Document,
  documentPositions,
  epochBatches,
  packRows,
  paddingFraction,
  plannedTargetCapacity,
  seededPermutation,
  targetCapacity,
} from '../../src/train/packing.js';
import { learningRateAt } from '../../src/train/schedule.js';

const documents: Document[] = [30, 5, 12, 40, 7, 22, 3, 18, 9, 26, 14, 33].map((length, index) => ({
  inputIds: Array.from({ length }, (_, position) => 10 + ((position + index) % 50)),
  lossMask: Array.from({ length }, (_, position) => (position > length / 2 ? 1 : 0)),
}));

describe('sequence packing', () => {
  it('places every document exactly once, never past the row length, in fewer rows than documents', () => {
    const order = seededPermutation(documents.length, 7, 'packing');
    const rows = packRows(documents, order, 48);
    expect(rows.flat().sort((a, b) => a - b)).toEqual(documents.map((_, index) => index));
    for (const row of rows)
      expect(row.reduce((sum, index) => sum + documentPositions(documents[index]), 0)).toBeLessThanOrEqual(
        48,
      );
    expect(rows.length).toBeLessThan(documents.length / 2);
  });

  it('rejects a document longer than a row', () => {
    expect(() => packRows(documents, [3], 20)).toThrow(/fills 39 positions but a row holds 20/);
  });

  it('orders an epoch by (seed, epoch) alone: the same twice, different across epochs', () => {
    const rows = packRows(
      documents,
      documents.map((_, index) => index),
      48,
    );
    expect(epochBatches(rows, 2, 5, 3)).toEqual(epochBatches(rows, 2, 5, 3));
    expect(epochBatches(rows, 2, 5, 3)).not.toEqual(epochBatches(rows, 2, 5, 4));
  });

  it('feeds input i → target i+1 of the same document, the mask of the target, and segment ids', () => {
    const shape = { rows: 2, length: 48 };
    const packed = batchFeeds(documents, [[1, 2]], shape, 2); // 4 + 11 positions, then padding; row 2 empty
    const ids = packed.feeds[studentBatchNames.inputIds].data as BigInt64Array;
    const targets = packed.feeds[studentBatchNames.targets].data as BigInt64Array;
    const mask = packed.feeds[studentBatchNames.lossMask].data as Float32Array;
    const segments = packed.feeds[studentBatchNames.segmentIds].data as BigInt64Array;
    expect(Number(ids[4])).toBe(documents[2].inputIds[0]);
    expect(Number(targets[3])).toBe(documents[1].inputIds[4]);
    expect(mask[3]).toBe(documents[1].lossMask[4]);
    expect(
      [segments[0], segments[3], segments[4], segments[14], segments[15], segments[60]].map(Number),
    ).toEqual([1, 1, 2, 2, 0, 0]);
    expect(Number(ids[15])).toBe(2); // padding token
    expect(mask.subarray(15).every((value) => value === 0)).toBe(true);
    expect(packed.tokens).toBe(15);
    expect(packed.targetTokens).toBe(mask.reduce((sum, value) => sum + value, 0));
    expect(paddingFraction(documents, [[[1, 2]]], shape)).toBeCloseTo(1 - 15 / 96, 10);
  });
});

describe('loss-position feeds', () => {
  const rows = packRows(
    documents,
    documents.map((_, index) => index),
    48,
  );
  const targetsOf = (row: readonly number[]): number =>
    row.reduce((sum, index) => sum + documents[index].lossMask.slice(1).reduce((a, b) => a + b, 0), 0);

  it('sizes K for the fullest possible batch: the largest row counts summed, rounded up to 8', () => {
    const counts = rows.map(targetsOf).sort((a, b) => b - a);
    const K = targetCapacity(documents, rows, { rows: 2, length: 48 });
    expect(K).toBe(Math.ceil((counts[0] + counts[1]) / 8) * 8);
    expect(targetCapacity(documents, rows, { rows: 1, length: 4 })).toBe(4); // never above B·T
  });

  it("sizes a run's K for its planned batches: their fullest micro-batch, rounded up to 8, within the order-free bound", () => {
    const shape = { rows: 2, length: 48 };
    const planned = [0, 1, 2].map((epoch) => epochBatches(rows, 4, 7, epoch)).flat(); // 4-row steps
    const microBatches = planned.flatMap((batch) => [batch.slice(0, 2), batch.slice(2, 4)]);
    const fullest = Math.max(...microBatches.map((micro) => micro.map(targetsOf).reduce((a, b) => a + b, 0)));
    const K = plannedTargetCapacity(documents, planned, shape);
    expect(K).toBe(Math.ceil(fullest / 8) * 8);
    expect(K).toBeLessThanOrEqual(targetCapacity(documents, rows, shape));
    for (const micro of microBatches)
      expect(() => batchFeeds(documents, micro, { ...shape, targets: K }, 2)).not.toThrow();
    expect(plannedTargetCapacity(documents, [], shape)).toBe(8);
  });

  it('lists the loss positions with their targets, padded with position 0, target 0 and mask 0', () => {
    const shape = { rows: 2, length: 48 };
    const K = targetCapacity(documents, rows, shape);
    const batch = rows.slice(0, 2);
    const full = batchFeeds(documents, batch, shape, 2);
    const gathered = batchFeeds(documents, batch, { ...shape, targets: K }, 2);
    const positions = gathered.feeds[studentBatchNames.targetPositions].data as BigInt64Array;
    const targets = gathered.feeds[studentBatchNames.targets].data as BigInt64Array;
    const mask = gathered.feeds[studentBatchNames.lossMask].data as Float32Array;
    const fullMask = full.feeds[studentBatchNames.lossMask].data as Float32Array;
    const fullTargets = full.feeds[studentBatchNames.targets].data as BigInt64Array;
    const expected = [...fullMask.keys()].filter((position) => fullMask[position] === 1);
    expect(gathered.targetTokens).toBe(expected.length);
    expect([...positions.subarray(0, expected.length)].map(Number)).toEqual(expected);
    expect([...targets.subarray(0, expected.length)]).toEqual(
      expected.map((position) => fullTargets[position]),
    );
    expect([...mask.subarray(0, expected.length)].every((flag) => flag === 1)).toBe(true);
    expect(
      [...positions.subarray(expected.length), ...targets.subarray(expected.length)].every((v) => v === 0n),
    ).toBe(true);
    expect(mask.subarray(expected.length).every((flag) => flag === 0)).toBe(true);
  });

  it('refuses a batch with more loss positions than K', () => {
    expect(() => batchFeeds(documents, rows.slice(0, 2), { rows: 2, length: 48, targets: 16 }, 2)).toThrow(
      /more than the 16 loss positions/,
    );
  });
});

describe('learning-rate schedule', () => {
  const schedule = { peak: 1e-3, minimum: 1e-4, warmupSteps: 10, totalSteps: 110 };
  it('warms up linearly, peaks, then follows a half cosine down to the minimum', () => {
    expect(learningRateAt(1, schedule)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(10, schedule)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(60, schedule)).toBeCloseTo(5.5e-4, 12);
    expect(learningRateAt(110, schedule)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(500, schedule)).toBeCloseTo(1e-4, 12);
    for (let step = 11; step < 110; step += 1)
      expect(learningRateAt(step + 1, schedule)).toBeLessThan(learningRateAt(step, schedule));
  });
});
