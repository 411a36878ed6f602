/**
 * Windowed batching of concurrent calls to one brick: calls of the same method wait in a window
 * that opens with the first of them and closes when `batchSize` calls are in it or `waitMs` has
 * passed since it opened, whichever comes first; then all of them go out as one batch (one
 * generation in a worker, onnx-brick-batch.ts). A call alone waits `waitMs` at most, never more.
 *
 * Each call stays its own: a call whose signal aborts while it waits leaves the window at once
 * (rejecting with the signal's reason), so its slot goes to the next call that arrives; one that
 * aborts inside a running batch stops there (its row leaves the generation) while the others go on.
 *
 * Time is injected (`schedule`), so the bound on the wait is tested by counting, not by the clock.
 */

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
  schedule?: Schedule;
}

interface Waiting<Input, Output> extends BatchCall<Input> {
  resolve(value: Output): void;
  reject(reason: unknown): void;
  /** Removes the abort listener. */
  detach(): void;
}

interface Window<Input, Output> {
  calls: Waiting<Input, Output>[];
  cancelTimer: () => void;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the request was cancelled');
}

export class BrickBatcher<Method, Input, Output> {
  private readonly windows = new Map<Method, Window<Input, Output>>();
  private readonly schedule: Schedule;
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
    this.schedule = options.schedule ?? realSchedule;
  }

  /** Calls waiting in the open window of a method. */
  waiting(method: Method): number {
    return this.windows.get(method)?.calls.length ?? 0;
  }

  submit(method: Method, input: Input, signal?: AbortSignal): Promise<Output> {
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise<Output>((resolve, reject) => {
      const window = this.windowFor(method);
      const onAbort = () => {
        const index = window.calls.indexOf(call);
        if (index < 0) return; // already sent: the batch sees the signal itself
        window.calls.splice(index, 1);
        if (window.calls.length === 0) this.closeWindow(method, window);
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
      window.calls.push(call);
      if (window.calls.length >= this.options.batchSize) this.flush(method, window);
    });
  }

  private windowFor(method: Method): Window<Input, Output> {
    const open = this.windows.get(method);
    if (open !== undefined) return open;
    const window: Window<Input, Output> = { calls: [], cancelTimer: () => {} };
    this.windows.set(method, window);
    window.cancelTimer = this.schedule(() => this.flush(method, window), this.options.waitMs);
    return window;
  }

  private closeWindow(method: Method, window: Window<Input, Output>): void {
    window.cancelTimer();
    if (this.windows.get(method) === window) this.windows.delete(method);
  }

  /** Closes the window and sends its calls as one batch. */
  private flush(method: Method, window: Window<Input, Output>): void {
    this.closeWindow(method, window);
    const calls = window.calls.splice(0);
    if (calls.length === 0) return;
    for (const call of calls) call.detach();
    this.batches += 1;
    this.batchedCalls += calls.length;
    this.dispatch(
      method,
      calls.map(({ input, signal }) => ({ input, signal })),
    ).then(
      (outcomes) =>
        calls.forEach((call, index) => {
          const outcome = outcomes[index];
          if (outcome === undefined) call.reject(new Error('the batch returned no result for this call'));
          else if (outcome.status === 'fulfilled') call.resolve(outcome.value);
          else call.reject(outcome.reason);
        }),
      (error: unknown) => calls.forEach((call) => call.reject(error)),
    );
  }
}
