/**
 * Continuous batching of a local brick's calls: a call that arrives while the brick's generation
 * runs joins it at the next step (`callBatch(…, { joinRunning })`, onnx-brick-batch.ts) and gets the
 * answer it gets alone; a joined call that is cancelled leaves at its next step while the others go
 * on; through the worker pool (`tasksPerWorker` > 1, `continuous: true`) every call goes out at once
 * and gets its own answer.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrickResult, DecomposeInput, DecomposeOutput } from '../../src/runtime/bricks/brick.js';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { BrickPool, WorkerBrick } from '../../src/runtime/workers/brick-pool.js';
import { exportPlainDecomposer, makeNanoBrick } from '../export/brick-fixture.js';

let root: string;
let spec: string;
let brick: OnnxBrick;

const questions = [
  'How old is the mayor of the city where Ada Lovelace was born?',
  'What is 12 apples plus 30 apples?',
  'Which company did Grace Hopper found before Alan Turing moved to Paris?',
  'Is Paris bigger than Lyon?',
];

beforeAll(async () => {
  const fixture = await makeNanoBrick('decomposer', 3, 0.2);
  root = fixture.root;
  spec = join(fixture.root, 'plain');
  await exportPlainDecomposer(fixture, spec);
  brick = await OnnxBrick.load(spec, spec);
}, 60_000);

afterAll(async () => {
  await brick?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

const input = (question: string, maxNewTokens: number, signal?: AbortSignal): DecomposeInput => ({
  question,
  maxSubquestions: 3,
  maxNewTokens,
  ...(signal === undefined ? {} : { signal }),
});

/** What a caller compares: the answer, its tokens and finish reason (not timings or confidence). */
function answerOf(result: unknown) {
  const { subquestions, raw, usage, finishReason } = result as BrickResult<DecomposeOutput>;
  return { subquestions, raw, usage, finishReason };
}

const joinRunning = { joinRunning: { maxRows: 4 } };

/** Records every forward's batch size; runs `hooks[n]` just before forward n. */
function recordForwards(hooks: Record<number, () => void>) {
  const batchSizes: number[] = [];
  const forward = brick.decoder.forward.bind(brick.decoder);
  const spy = vi.spyOn(brick.decoder, 'forward').mockImplementation(async (batch, cache) => {
    hooks[batchSizes.length]?.();
    batchSizes.push(batch.batchSize);
    return forward(batch, cache);
  });
  return { batchSizes, restore: () => spy.mockRestore() };
}

describe('calls that join a running generation of a local brick', () => {
  it('a call that arrives mid-generation joins it and gets the answer it gets alone', async () => {
    const alone = [
      answerOf(await brick.decompose!(input(questions[0]!, 24))),
      answerOf(await brick.decompose!(input(questions[1]!, 10))),
    ];
    let second: Promise<PromiseSettledResult<unknown>[]> | undefined;
    const recorded = recordForwards({
      4: () => (second = brick.callBatch('decompose', [input(questions[1]!, 10)], joinRunning)),
    });
    try {
      const first = await brick.callBatch('decompose', [input(questions[0]!, 24)], joinRunning);
      const joined = await second!;
      expect(first[0]!.status).toBe('fulfilled');
      expect(joined[0]!.status).toBe('fulfilled');
      expect(answerOf((first[0] as PromiseFulfilledResult<unknown>).value)).toEqual(alone[0]);
      expect(answerOf((joined[0] as PromiseFulfilledResult<unknown>).value)).toEqual(alone[1]);
      // The two calls decoded in the same forwards (2 rows), then the first went on alone.
      expect(recorded.batchSizes).toContain(2);
      expect(recorded.batchSizes.at(-1)).toBe(1);
    } finally {
      recorded.restore();
    }
  }, 60_000);

  it('a joined call that is cancelled leaves at its next step; the running call finishes as alone', async () => {
    const alone = answerOf(await brick.decompose!(input(questions[2]!, 30)));
    const controller = new AbortController();
    let second: Promise<PromiseSettledResult<unknown>[]> | undefined;
    let rowsAfterAbort = 0;
    const recorded = recordForwards({
      3: () =>
        (second = brick.callBatch('decompose', [input(questions[3]!, 30, controller.signal)], joinRunning)),
      8: () => controller.abort(new Error('the client disconnected')),
      10: () => (rowsAfterAbort = recorded.batchSizes[9]!),
    });
    try {
      const first = await brick.callBatch('decompose', [input(questions[2]!, 30)], joinRunning);
      const joined = await second!;
      expect(joined[0]).toMatchObject({ status: 'rejected', reason: new Error('the client disconnected') });
      expect(answerOf((first[0] as PromiseFulfilledResult<unknown>).value)).toEqual(alone);
      expect(Math.max(...recorded.batchSizes)).toBe(2);
      // Aborted before forward 8, its last forward was 8: forward 9 ran the first call alone.
      expect(recorded.batchSizes[8]).toBe(2);
      expect(rowsAfterAbort).toBe(1);
    } finally {
      recorded.restore();
    }
  }, 60_000);
});

describe('continuous batching through the worker pool', () => {
  let pool: BrickPool;

  beforeAll(() => {
    pool = new BrickPool({ specs: [spec], threads: 1, loadOptions: {}, tasksPerWorker: 4 });
  });

  afterAll(async () => pool?.close());

  it('sends every call at once; each gets the answer it gets alone; a cancelled one rejects', async () => {
    const description = await pool.describe(spec);
    const alone = new WorkerBrick(pool, description);
    const expected = [];
    for (const question of questions) expected.push(answerOf(await alone.decompose!(input(question, 12))));
    const continuous = new WorkerBrick(pool, description, { batchSize: 4, waitMs: 60_000, continuous: true });
    const before = pool.completed;
    const client = new AbortController();
    // Four calls: as many as the worker takes at once (maxInFlight 1 thread x 4), so all go out.
    const calls = questions.slice(0, 3).map((question) => continuous.decompose!(input(question, 12)));
    const gone = continuous.decompose!(input(questions[3]!, 12, client.signal)).then(
      () => undefined,
      (error: unknown) => error,
    );
    client.abort(new Error('the client disconnected'));
    const results = await Promise.all(calls);
    expect(results.map(answerOf)).toEqual(expected.slice(0, 3));
    expect(String(await gone)).toMatch(/disconnected|cancelled/);
    // No window (a 60 s wait would hold them): each call went out as its own task at once.
    expect(continuous.batcher!.batches).toBe(4);
    expect(pool.completed - before).toBe(4);
  }, 60_000);
});
