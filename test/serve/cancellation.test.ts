/**
 * A request cancelled while its call runs in a worker stops that call in the worker (the
 * AbortSignal crosses as a shared flag), which frees the worker: with one worker thread, the next
 * call is served. Before, the call ran on until it finished, holding the worker.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BrickPool, WorkerBrick } from '../../src/runtime/workers/brick-pool.js';

const loaders = new URL('./waiting-brick-loader.ts', import.meta.url).href;
let directory: string;
let spec: string;
let pool: BrickPool;
let brick: WorkerBrick;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'dnc-serve-cancel-'));
  spec = join(directory, 'waiting-brick');
  mkdirSync(spec);
  pool = new BrickPool({ specs: [spec], threads: 1, loadOptions: {}, loaderModules: [loaders] });
  brick = new WorkerBrick(pool, await pool.describe(spec));
});

afterAll(async () => {
  await pool?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('cancelling a call that runs in a worker', () => {
  it('stops it in the worker and frees the worker for the next call', async () => {
    const controller = new AbortController();
    const waiting = brick.decompose!({ question: 'wait', maxSubquestions: 3, signal: controller.signal });
    // The call is running in the worker once the brick has said so.
    await vi.waitFor(() => expect(existsSync(join(spec, 'started'))).toBe(true), {
      timeout: 30_000,
      interval: 5,
    });
    controller.abort(new Error('the client disconnected'));
    await expect(waiting).rejects.toThrow(/stopped in the worker: the request was cancelled/);
    // One worker thread: this call is only served because the cancelled one let go of it.
    const next = await brick.decompose!({ question: 'How old is Ada?', maxSubquestions: 3 });
    expect(next.subquestions).toEqual(['How old is Ada?']);
    expect(pool.threads).toBe(1);
  }, 30_000);

  it('a call whose signal aborted before it was sent is never sent', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const completed = pool.completed;
    await expect(
      brick.decompose!({ question: 'wait', maxSubquestions: 3, signal: controller.signal }),
    ).rejects.toThrow(/gone/);
    expect(pool.completed).toBe(completed);
  });
});
