/**
 * The worker pool for local bricks, on piscina (maintained, used widely, handles worker
 * crashes, queues tasks and reports utilization). Every worker loads the pool's bricks once
 * at start-up; `WorkerBrick` is a `Brick` on the main thread whose calls run in the pool.
 */
import { Piscina } from 'piscina';
import { abortReason } from '../abort-reason.js';
import type {
  Brick,
  BrickKind,
  BrickResult,
  BrickRole,
  DecomposeInput,
  DecomposeOutput,
  NextSubquestionInput,
  NextSubquestionOutput,
  SolveInput,
  SolveOutput,
} from '../bricks/brick.js';
import { BrickBatcher, type BatchCall, type BrickBatcherOptions } from './brick-batcher.js';
import type {
  BatchOutcome,
  BrickDescription,
  BrickMethod,
  BrickTask,
  BrickWorkerData,
  WorkerLoadOptions,
} from './brick-task.js';

export interface BrickPoolOptions {
  /** Specs each worker loads at start-up. */
  specs: string[];
  threads: number;
  loadOptions: WorkerLoadOptions;
  /** Module URLs exporting `brickLoaders`, tried before the default loaders in each worker. */
  loaderModules?: string[];
  /**
   * Tasks one worker runs at once (default 1). Above 1, a worker takes calls while its generation
   * runs (onnxruntime's run yields to the worker's event loop between steps), so they can join it:
   * continuous batching (`WorkerBatching.continuous`).
   */
  tasksPerWorker?: number;
}

/** How a WorkerBrick batches concurrent calls: windowed (brick-batcher.ts), or continuous. */
export interface WorkerBatching extends BrickBatcherOptions {
  /**
   * Calls join a generation already running in a worker at its next step instead of waiting for it
   * to end (needs a pool with `tasksPerWorker` > 1; else the window applies). `batchSize` caps the
   * rows in one generation.
   */
  continuous?: boolean;
}

export class BrickPool {
  private readonly pool: Piscina<BrickTask, unknown>;

  constructor(private readonly options: BrickPoolOptions) {
    const workerData: BrickWorkerData = {
      specs: options.specs,
      loadOptions: options.loadOptions,
      loaderModules: options.loaderModules ?? [],
    };
    this.pool = new Piscina({
      filename: new URL('./brick-worker-bootstrap.js', import.meta.url).href,
      minThreads: options.threads,
      maxThreads: options.threads,
      // Workers stay up: a local brick is costly to load, so an idle worker is never recycled.
      idleTimeout: Number.POSITIVE_INFINITY,
      // Keep the parent's Node flags (vitest's, the user's); tsx is registered by the bootstrap.
      execArgv: process.execArgv,
      workerData,
      concurrentTasksPerWorker: this.tasksPerWorker,
    });
  }

  /** Tasks one worker runs at once. */
  get tasksPerWorker(): number {
    return this.options.tasksPerWorker ?? 1;
  }

  /** Worker threads the pool runs (its configured size). */
  get size(): number {
    return this.options.threads;
  }

  get threads(): number {
    return this.pool.threads.length;
  }

  /** Tasks the workers have finished. */
  get completed(): number {
    return this.pool.completed;
  }

  /** Tasks waiting for a free worker. */
  get queueSize(): number {
    return this.pool.queueSize;
  }

  async describe(spec: string): Promise<BrickDescription> {
    return (await this.pool.run({ op: 'describe', spec })) as BrickDescription;
  }

  call(
    spec: string,
    method: BrickMethod,
    input: Record<string, unknown>,
    cancel?: Int32Array,
  ): Promise<unknown> {
    return this.pool.run({ op: 'call', spec, method, input, ...(cancel !== undefined ? { cancel } : {}) });
  }

  /** Several calls of one method as one task (one generation for a batchable brick). */
  callBatch(
    spec: string,
    method: BrickMethod,
    inputs: Record<string, unknown>[],
    cancels: (Int32Array | undefined)[],
    joinRunning?: { maxRows: number },
  ): Promise<BatchOutcome[]> {
    return this.pool.run({
      op: 'callBatch',
      spec,
      method,
      inputs,
      cancels,
      ...(joinRunning === undefined ? {} : { joinRunning }),
    }) as Promise<BatchOutcome[]>;
  }

  /** Waits for running tasks, then stops the workers. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** A shared flag (brick-task.ts) set once the signal aborts; `release` stops listening. */
function cancelFlag(signal: AbortSignal): { flag: Int32Array; release(): void } {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = () => Atomics.store(flag, 0, 1);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return { flag, release: () => signal.removeEventListener('abort', onAbort) };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

/**
 * A brick whose calls run in the pool. The AbortSignal cannot be cloned, so it travels as a shared
 * flag (brick-task.ts): a cancelled request makes no further calls, and a call already running in a
 * worker sees its signal abort there and stops at its next generation step (one ONNX run is not
 * interrupted midway), which frees the worker for the next request.
 */
export class WorkerBrick implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly spec: string;
  readonly kind: BrickKind;
  readonly role?: BrickRole;
  readonly model: string;
  decompose?: (input: DecomposeInput) => Promise<BrickResult<DecomposeOutput>>;
  nextSubquestion?: (input: NextSubquestionInput) => Promise<BrickResult<NextSubquestionOutput>>;
  solve?: (input: SolveInput) => Promise<BrickResult<SolveOutput>>;

  /** Set when the brick batches concurrent calls (a batchable brick, and a batch size above 1). */
  readonly batcher: BrickBatcher<BrickMethod, Record<string, unknown>, unknown> | undefined;
  /** Set when calls join generations already running in the workers (continuous batching). */
  private readonly joinRunning: { maxRows: number } | undefined;

  constructor(
    private readonly pool: BrickPool,
    description: BrickDescription,
    batching?: WorkerBatching,
  ) {
    this.spec = description.spec;
    if (description.batchable && batching !== undefined && batching.batchSize > 1) {
      const { continuous, ...window } = batching;
      if (continuous === true && pool.tasksPerWorker > 1) {
        // Every call goes out at once, as its own task, and joins its worker's running generation
        // (a batch of rows decoding, up to a batch more waiting inside to join as rows leave); calls
        // wait here only while each worker holds two batches. The pool's other slots
        // (tasksPerWorker above that) stay free for other bricks' calls (the solver).
        this.joinRunning = { maxRows: batching.batchSize };
        this.batcher = new BrickBatcher((method, calls) => this.runBatch(method, calls), {
          ...window,
          batchSize: 1,
          waitMs: 0,
          maxInFlight: pool.size * Math.min(2 * batching.batchSize, pool.tasksPerWorker),
        });
      } else
        // At most one batch per worker thread runs; the next waits here, where later calls can join it.
        this.batcher = new BrickBatcher((method, calls) => this.runBatch(method, calls), {
          maxInFlight: pool.size,
          ...window,
        });
    }
    this.kind = description.kind;
    this.role = description.role;
    this.model = description.model;
    const methods = new Set(description.methods);
    if (methods.has('decompose')) this.decompose = (input) => this.call('decompose', input);
    if (methods.has('nextSubquestion')) this.nextSubquestion = (input) => this.call('nextSubquestion', input);
    if (methods.has('solve')) this.solve = (input) => this.call('solve', input);
  }

  private async call<Output>(
    method: BrickMethod,
    input: { signal?: AbortSignal },
  ): Promise<BrickResult<Output>> {
    const { signal, ...rest } = input;
    throwIfAborted(signal);
    if (this.batcher !== undefined)
      return (await this.batcher.submit(method, rest, signal)) as BrickResult<Output>;
    if (signal === undefined) return (await this.pool.call(this.spec, method, rest)) as BrickResult<Output>;
    const cancel = cancelFlag(signal);
    try {
      return (await this.pool.call(this.spec, method, rest, cancel.flag)) as BrickResult<Output>;
    } finally {
      cancel.release();
    }
  }

  /** One batch from the batcher: one task, one cancellation flag per call. */
  private async runBatch(
    method: BrickMethod,
    calls: readonly BatchCall<Record<string, unknown>>[],
  ): Promise<PromiseSettledResult<unknown>[]> {
    const cancels = calls.map((call) => (call.signal === undefined ? undefined : cancelFlag(call.signal)));
    try {
      const outcomes = await this.pool.callBatch(
        this.spec,
        method,
        calls.map((call) => call.input),
        cancels.map((cancel) => cancel?.flag),
        this.joinRunning,
      );
      return outcomes.map((outcome) =>
        outcome.ok
          ? { status: 'fulfilled', value: outcome.value }
          : { status: 'rejected', reason: outcome.error },
      );
    } finally {
      for (const cancel of cancels) cancel?.release();
    }
  }
}
