/**
 * Batching of concurrent calls to one brick. A call to an idle brick (no batch running) goes out at
 * once: it pays no wait. While a batch runs, calls of the same method gather in a window that opens
 * with the first of them and closes when `batchSize` calls are in it or `waitMs` has passed,
 * whichever comes first; then they go out together as one batch (one generation in a worker,
 * onnx-brick-batch.ts). So no call waits past its window for others to join.
 *
 * At most `maxInFlight` batches run (one per worker thread). While that many run, a closed window
 * holds its calls and keeps taking new ones up to `batchSize` until a batch finishes: its calls wait
 * for a worker, as they would in the pool's queue, but can still share a batch. A window that goes
 * out while several workers are free is split evenly among them: 8 calls and 2 free workers make
 * two batches of 4, decoding side by side, rather than one batch of 8 on one worker while the other
 * idles (on the tiny preset one thread decodes a batch of 4 in about two thirds of the time of a batch
 * of 8, so the split serves the same calls sooner).
 *
 * Each call stays its own: a call whose signal aborts while it waits leaves the window at once
 * (rejecting with the signal's reason), so its slot goes to the next call that arrives; one that
 * aborts inside a running batch stops there (its row leaves the generation) while the others go on.
 *
 * Time is injected (`schedule`), so the bound on the wait is tested by counting, not by the clock.
 */
import { abortReason } from '../abort-reason.js';

/** Starts a timer; returns what cancels it. */
export type Schedule = (run: () => void, delayMs: number) => () => void;

export const realSchedule: Schedule = (run, delayMs) => {
  const timer = setTimeout(run, delayMs);
  return () => clearTimeout(timer);
};

export interface BatchCall<Input> {
  input: Input;
  signal?: AbortSignal;
}

/** Runs a batch; returns one outcome per call, in order (a rejection settles that call alone). */
export type DispatchBatch<Method, Input, Output> = (
  method: Method,
  calls: readonly BatchCall<Input>[],
) => Promise<PromiseSettledResult<Output>[]>;

export interface BrickBatcherOptions {
  /** Most calls in one batch. */
  batchSize: number;
  /** Longest a window stays open after its first call arrived. */
  waitMs: number;
  /**
   * Most batches running at once (the worker threads): while that many run, a closed window waits
   * for one to finish and keeps taking calls up to `batchSize` — in a worker's queue they could
   * not join. Default: no limit.
   */
  maxInFlight?: number;
  schedule?: Schedule;
}

interface Waiting<Input, Output> extends BatchCall<Input> {
  resolve(value: Output): void;
  reject(reason: unknown): void;
  /** Removes the abort listener. */
  detach(): void;
}

/** The calls of one method waiting to go out; `due` once the window's wait has passed. */
interface Queue<Input, Output> {
  calls: Waiting<Input, Output>[];
  cancelTimer?: () => void;
  due: boolean;
}

export class BrickBatcher<Method, Input, Output> {
  private readonly queues = new Map<Method, Queue<Input, Output>>();
  private readonly schedule: Schedule;
  private readonly maxInFlight: number;
  private inFlight = 0;
  /** Batches sent so far, and how many calls they held (for metrics and tests). */
  batches = 0;
  batchedCalls = 0;

  constructor(
    private readonly dispatch: DispatchBatch<Method, Input, Output>,
    private readonly options: BrickBatcherOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
    if (!(options.waitMs >= 0)) throw new Error(`waitMs must be >= 0, got ${options.waitMs}`);
    this.maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
    if (!(this.maxInFlight >= 1)) throw new Error(`maxInFlight must be >= 1, got ${options.maxInFlight}`);
    this.schedule = options.schedule ?? realSchedule;
  }

  /** Calls of a method waiting to go out. */
  waiting(method: Method): number {
    return this.queues.get(method)?.calls.length ?? 0;
  }

  /** Batches running now. */
  get running(): number {
    return this.inFlight;
  }

  submit(method: Method, input: Input, signal?: AbortSignal): Promise<Output> {
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise<Output>((resolve, reject) => {
      const queue = this.queueFor(method);
      const onAbort = () => {
        const index = queue.calls.indexOf(call);
        if (index < 0) return; // already sent: the batch sees the signal itself
        queue.calls.splice(index, 1);
        if (queue.calls.length === 0) this.drop(method, queue);
        reject(abortReason(signal!));
      };
      const call: Waiting<Input, Output> = {
        input,
        signal,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.calls.push(call);
      this.pump();
    });
  }

  /** The method's queue; a new one opens its window (the timer of its first call). */
  private queueFor(method: Method): Queue<Input, Output> {
    const open = this.queues.get(method);
    if (open !== undefined) return open;
    // No wait: the window is closed from the start, so calls batch only while every worker is busy.
    const queue: Queue<Input, Output> = { calls: [], due: this.options.waitMs === 0 };
    this.queues.set(method, queue);
    if (queue.due) return queue;
    queue.cancelTimer = this.schedule(() => {
      queue.cancelTimer = undefined;
      queue.due = true;
      this.pump();
    }, this.options.waitMs);
    return queue;
  }

  private drop(method: Method, queue: Queue<Input, Output>): void {
    queue.cancelTimer?.();
    if (this.queues.get(method) === queue) this.queues.delete(method);
  }

  /**
   * Sends every batch that may go, while fewer than `maxInFlight` run: a full or due window, or any
   * waiting call when no batch runs (an idle brick adds no wait; under load, windows gather calls).
   * The calls going out are split evenly among the free workers (see the file comment).
   */
  private pump(): void {
    for (const [method, queue] of this.queues) {
      while (
        this.inFlight < this.maxInFlight &&
        queue.calls.length > 0 &&
        (queue.due || queue.calls.length >= this.options.batchSize || this.inFlight === 0)
      )
        for (const size of this.batchSizes(queue.calls.length))
          this.send(method, queue.calls.splice(0, size));
      if (queue.calls.length === 0) this.drop(method, queue);
    }
  }

  /**
   * The batches `waiting` calls go out in now, as even as possible and none above `batchSize`: at
   * most one per free worker (without a worker limit: as few as `batchSize` allows).
   */
  private batchSizes(waiting: number): number[] {
    const { batchSize } = this.options;
    const free = this.maxInFlight - this.inFlight;
    const sent = Math.min(waiting, free * batchSize);
    const batches = Number.isFinite(free) ? Math.min(free, sent) : Math.ceil(sent / batchSize);
    return Array.from(
      { length: batches },
      (_, index) => Math.floor(sent / batches) + (index < sent % batches ? 1 : 0),
    );
  }

  private send(method: Method, calls: Waiting<Input, Output>[]): void {
    for (const call of calls) call.detach();
    this.batches += 1;
    this.batchedCalls += calls.length;
    this.inFlight += 1;
    const settle = (settleCall: (call: Waiting<Input, Output>, index: number) => void) => {
      this.inFlight -= 1;
      calls.forEach(settleCall);
      this.pump();
    };
    this.dispatch(
      method,
      calls.map(({ input, signal }) => ({ input, signal })),
    ).then(
      (outcomes) =>
        settle((call, index) => {
          const outcome = outcomes[index];
          if (outcome === undefined) call.reject(new Error('the batch returned no result for this call'));
          else if (outcome.status === 'fulfilled') call.resolve(outcome.value);
          else call.reject(outcome.reason);
        }),
      (error: unknown) => settle((call) => call.reject(error)),
    );
  }
}
