/**
 * The windowed batcher, with injected timers: the wait is bounded by the window (counted, not
 * timed), a full window goes out at once, and a call that aborts while waiting frees its slot.
 */
import { describe, expect, it } from 'vitest';
import { BrickBatcher, type BatchCall, type Schedule } from '../../src/runtime/workers/brick-batcher.js';

/** Timers that fire only when the test says so. */
function manualTimers() {
  const timers: { run: () => void; delayMs: number; cancelled: boolean }[] = [];
  const schedule: Schedule = (run, delayMs) => {
    const timer = { run, delayMs, cancelled: false };
    timers.push(timer);
    return () => void (timer.cancelled = true);
  };
  const fireAll = () => timers.filter((timer) => !timer.cancelled).forEach((timer) => timer.run());
  return { timers, schedule, fireAll };
}

/**
 * A dispatch that records its batches and answers each call with its input doubled; a batch of the
 * method `busy` runs until `release()`, keeping the brick busy (windows only gather on a busy brick).
 */
function recordingDispatch() {
  const batches: { method: string; inputs: number[]; signals: (AbortSignal | undefined)[] }[] = [];
  let release = () => {};
  const busyUntilReleased = new Promise<void>((resolve) => (release = resolve));
  const dispatch = async (method: string, calls: readonly BatchCall<number>[]) => {
    if (method === 'busy') await busyUntilReleased;
    else
      batches.push({
        method,
        inputs: calls.map((call) => call.input),
        signals: calls.map((call) => call.signal),
      });
    return calls.map((call) =>
      call.input < 0
        ? ({ status: 'rejected', reason: new Error(`bad input ${call.input}`) } as const)
        : ({ status: 'fulfilled', value: call.input * 2 } as const),
    );
  };
  return { batches, dispatch, release: () => release() };
}

/** A dispatch whose batches each run until the test calls their `releases[i]` (answers: the inputs). */
function heldDispatch() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const dispatch = (_method: string, calls: readonly BatchCall<number>[]) => {
    batches.push(calls.map((call) => call.input));
    return new Promise<PromiseSettledResult<number>[]>((resolve) =>
      releases.push(() => resolve(calls.map((call) => ({ status: 'fulfilled', value: call.input })))),
    );
  };
  return { batches, releases, dispatch };
}

describe('BrickBatcher', () => {
  it('sends a call to an idle brick at once, without a window', async () => {
    const timers = manualTimers();
    const { batches, dispatch } = recordingDispatch();
    const batcher = new BrickBatcher(dispatch, { batchSize: 8, waitMs: 5, schedule: timers.schedule });
    await expect(batcher.submit('decompose', 21)).resolves.toBe(42);
    expect(batches.map((batch) => batch.inputs)).toEqual([[21]]);
    expect(timers.timers.every((timer) => timer.cancelled)).toBe(true);
  });

  it('on a busy brick, sends a lone call when its window closes, waiting no longer than the window', async () => {
    const timers = manualTimers();
    const { batches, dispatch, release } = recordingDispatch();
    const batcher = new BrickBatcher(dispatch, { batchSize: 8, waitMs: 5, schedule: timers.schedule });
    const busy = batcher.submit('busy', 0);
    const answer = batcher.submit('decompose', 21);
    const open = timers.timers.filter((timer) => !timer.cancelled);
    expect(open.map((timer) => timer.delayMs)).toEqual([5]);
    expect(batches).toHaveLength(0); // still waiting for others to join
    timers.fireAll();
    await expect(answer).resolves.toBe(42);
    expect(batches).toEqual([{ method: 'decompose', inputs: [21], signals: [undefined] }]);
    release();
    await busy;
  });

  it('sends a full window at once and cancels its timer; the next call opens a new window', async () => {
    const timers = manualTimers();
    const { batches, dispatch, release } = recordingDispatch();
    const batcher = new BrickBatcher(dispatch, { batchSize: 3, waitMs: 1_000, schedule: timers.schedule });
    const busy = batcher.submit('busy', 0); // windows gather while a batch runs
    const answers = [1, 2, 3].map((input) => batcher.submit('decompose', input));
    expect(await Promise.all(answers)).toEqual([2, 4, 6]);
    expect(batches.map((batch) => batch.inputs)).toEqual([[1, 2, 3]]);
    expect(timers.timers.every((timer) => timer.cancelled)).toBe(true);
    const late = batcher.submit('decompose', 4);
    expect(batcher.waiting('decompose')).toBe(1);
    expect(timers.timers.filter((timer) => !timer.cancelled)).toHaveLength(1);
    timers.fireAll();
    await expect(late).resolves.toBe(8);
    expect(batcher.batches).toBe(3); // the busy one and two windows
    expect(batcher.batchedCalls).toBe(5);
    release();
    await busy;
  });

  it('a call that aborts while waiting leaves the window and frees its slot for the next call', async () => {
    const timers = manualTimers();
    const { batches, dispatch, release } = recordingDispatch();
    const batcher = new BrickBatcher(dispatch, { batchSize: 2, waitMs: 1_000, schedule: timers.schedule });
    const busy = batcher.submit('busy', 0); // windows gather while a batch runs
    const gone = new AbortController();
    const first = batcher.submit('decompose', 1, gone.signal);
    gone.abort(new Error('the client disconnected'));
    await expect(first).rejects.toThrow('the client disconnected');
    expect(batcher.waiting('decompose')).toBe(0);
    // With the slot freed, these two fill the window (without it, 1 and 2 would have gone out).
    const second = batcher.submit('decompose', 2);
    const third = batcher.submit('decompose', 3);
    expect(await Promise.all([second, third])).toEqual([4, 6]);
    expect(batches.map((batch) => batch.inputs)).toEqual([[2, 3]]);
    release();
    await busy;
  });

  it('with no wait, a call goes out at once while a worker is free, and waits (batching) only while none is', async () => {
    const timers = manualTimers();
    const { batches, dispatch } = recordingDispatch();
    const batcher = new BrickBatcher(dispatch, {
      batchSize: 8,
      waitMs: 0,
      maxInFlight: 1,
      schedule: timers.schedule,
    });
    const first = batcher.submit('decompose', 1);
    const second = batcher.submit('decompose', 2);
    const third = batcher.submit('decompose', 3);
    expect(timers.timers).toHaveLength(0);
    expect(batches.map((batch) => batch.inputs)).toEqual([[1]]);
    expect(await Promise.all([first, second, third])).toEqual([2, 4, 6]);
    expect(batches.map((batch) => batch.inputs)).toEqual([[1], [2, 3]]);
  });

  it('never sends a call whose signal aborted before it was submitted', async () => {
    const { batches, dispatch } = recordingDispatch();
    const batcher = new BrickBatcher(dispatch, {
      batchSize: 2,
      waitMs: 0,
      schedule: manualTimers().schedule,
    });
    await expect(batcher.submit('decompose', 1, AbortSignal.abort(new Error('gone')))).rejects.toThrow(
      'gone',
    );
    expect(batcher.waiting('decompose')).toBe(0);
    expect(batches).toHaveLength(0);
  });

  it('keeps methods apart, passes each call its signal, and settles a failed call alone', async () => {
    const timers = manualTimers();
    const { batches, dispatch, release } = recordingDispatch();
    const batcher = new BrickBatcher(dispatch, { batchSize: 2, waitMs: 1_000, schedule: timers.schedule });
    const busy = batcher.submit('busy', 0); // windows gather while a batch runs
    const controller = new AbortController();
    const solve = batcher.submit('solve', 5);
    const good = batcher.submit('decompose', 1, controller.signal);
    const bad = batcher.submit('decompose', -1);
    await expect(good).resolves.toBe(2);
    await expect(bad).rejects.toThrow('bad input -1');
    expect(batcher.waiting('solve')).toBe(1);
    timers.fireAll();
    await expect(solve).resolves.toBe(10);
    expect(batches.map((batch) => [batch.method, batch.inputs])).toEqual([
      ['decompose', [1, -1]],
      ['solve', [5]],
    ]);
    // A call already sent keeps its signal: the batch stops its row if it aborts there.
    expect(batches[0]!.signals[0]).toBe(controller.signal);
    release();
    await busy;
  });

  it('while every worker is busy, a closed window holds its calls and keeps taking more', async () => {
    const timers = manualTimers();
    const { batches, releases, dispatch } = heldDispatch();
    const batcher = new BrickBatcher(dispatch, {
      batchSize: 4,
      waitMs: 5,
      maxInFlight: 1,
      schedule: timers.schedule,
    });
    const first = batcher.submit('decompose', 1);
    timers.fireAll(); // the lone call goes out when its window closes
    expect(batches).toEqual([[1]]);
    const later = [2, 3, 4, 5, 6].map((input) => batcher.submit('decompose', input));
    timers.fireAll(); // this window closed too, but the one worker is busy: nothing more goes out
    expect(batches).toHaveLength(1);
    expect(batcher.waiting('decompose')).toBe(5);
    releases[0]!();
    await expect(first).resolves.toBe(1);
    // The worker is free: the waiting calls go out as full batches (4, then the last one).
    expect(batches).toEqual([[1], [2, 3, 4, 5]]);
    releases[1]!();
    await Promise.resolve();
    await Promise.resolve();
    expect(batches).toEqual([[1], [2, 3, 4, 5], [6]]);
    releases[2]!();
    expect(await Promise.all(later)).toEqual([2, 3, 4, 5, 6]);
    expect(batcher.running).toBe(0);
  });

  it('splits the calls going out evenly among the free workers, none above the batch size', async () => {
    const timers = manualTimers();
    const { batches, releases, dispatch } = heldDispatch();
    const batcher = new BrickBatcher(dispatch, {
      batchSize: 4,
      waitMs: 5,
      maxInFlight: 2,
      schedule: timers.schedule,
    });
    const first = batcher.submit('decompose', 1); // an idle brick: out at once, alone
    const waiting = [2, 3, 4, 5, 6, 7, 8].map((input) => batcher.submit('decompose', input));
    // A full window (4 calls) goes to the free worker; the 3 others wait for their window.
    expect(batches).toEqual([[1], [2, 3, 4, 5]]);
    releases[0]!();
    releases[1]!();
    await expect(first).resolves.toBe(1);
    await Promise.resolve();
    // Both workers free, no batch running: the 3 waiting calls go out over both, 2 and 1.
    expect(batches).toEqual([[1], [2, 3, 4, 5], [6, 7], [8]]);
    releases[2]!();
    releases[3]!();
    expect(await Promise.all(waiting)).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  it('rejects every call of a batch whose dispatch failed', async () => {
    const batcher = new BrickBatcher<string, number, number>(
      () => Promise.reject(new Error('the worker crashed')),
      { batchSize: 2, waitMs: 1_000, schedule: manualTimers().schedule },
    );
    const results = await Promise.allSettled([
      batcher.submit('decompose', 1),
      batcher.submit('decompose', 2),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });
});
