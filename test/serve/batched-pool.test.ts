/**
 * Batching through the worker pool: concurrent calls to a local brick go to the worker as ONE task
 * (one generation) and get the answers unbatched calls get; a call whose client disconnects while
 * it waits frees its slot, so the next calls fill the batch.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrickPool, WorkerBrick } from '../../src/runtime/workers/brick-pool.js';
import { exportPlainDecomposer, makeNanoBrick } from '../export/brick-fixture.js';

let root: string;
let spec: string;
let pool: BrickPool;

const questions = [
  'How old is the mayor of the city where Ada Lovelace was born?',
  'What is 12 apples plus 30 apples?',
  'Which company did Grace Hopper found?',
  'Is Paris bigger than Lyon?',
];

beforeAll(async () => {
  const fixture = await makeNanoBrick('decomposer', 5, 0.2);
  root = fixture.root;
  spec = join(fixture.root, 'plain');
  await exportPlainDecomposer(fixture, spec);
  pool = new BrickPool({ specs: [spec], threads: 1, loadOptions: {} });
}, 60_000);

afterAll(async () => {
  await pool?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

const input = (question: string, signal?: AbortSignal) => ({
  question,
  maxSubquestions: 3,
  maxNewTokens: 8,
  ...(signal === undefined ? {} : { signal }),
});

describe('batching concurrent calls to a local brick in a worker', () => {
  it('runs them as one task with the answers each call gets alone', async () => {
    const description = await pool.describe(spec);
    expect(description.batchable).toBe(true);
    const alone = new WorkerBrick(pool, description);
    expect(alone.batcher).toBeUndefined();
    const expected = [];
    for (const question of questions) expected.push((await alone.decompose!(input(question))).raw);
    const batched = new WorkerBrick(pool, description, { batchSize: 4, waitMs: 60_000 });
    const before = pool.completed;
    // A call to the idle brick goes out at once; the four that come while it runs gather into one batch.
    const first = batched.decompose!(input(questions[3]!));
    const results = await Promise.all(questions.map((question) => batched.decompose!(input(question))));
    expect((await first).raw).toEqual(expected[3]);
    expect(results.map((result) => result.raw)).toEqual(expected);
    expect(pool.completed - before).toBe(2); // five calls, two worker tasks
    expect(batched.batcher!.batches).toBe(2);
    expect(batched.batcher!.batchedCalls).toBe(5);
  }, 60_000);

  it('a client that disconnects while waiting frees its slot for the next call', async () => {
    const batched = new WorkerBrick(pool, await pool.describe(spec), { batchSize: 2, waitMs: 60_000 });
    const before = pool.completed;
    // The brick is busy with this call, so the next ones gather in a window (of 2 calls, or 60 s).
    const busy = batched.decompose!(input(questions[3]!));
    const client = new AbortController();
    const gone = batched.decompose!(input(questions[0]!, client.signal));
    client.abort(new Error('the client disconnected'));
    await expect(gone).rejects.toThrow('the client disconnected');
    // The window holds 2: only because the first call left does this pair fill it and go out
    // (a 60 s window would otherwise keep the second call waiting).
    const answers = await Promise.all([
      batched.decompose!(input(questions[1]!)),
      batched.decompose!(input(questions[2]!)),
    ]);
    expect(answers).toHaveLength(2);
    await busy;
    expect(pool.completed - before).toBe(2);
    expect(batched.batcher!.batchedCalls).toBe(3); // the busy call, then the pair; never the one that left
  }, 60_000);
});
