/**
 * Data-parallel gradients: worker threads that each run the `accumulate` graph on one onnxruntime
 * thread (gradient-worker.ts), one share of a step's micro-batches each, at the same parameters.
 * The trainer sums their gradients in worker order and applies one update.
 *
 * Why: every worker runs on one thread and the sum's order is fixed, so a run repeats bit for bit,
 * which `--deterministic` otherwise buys with a one-thread step (0.68× the speed). On the
 * quickstart's step two workers ran at 1.00× the two-thread step (docs/performance.md,
 * "Data-parallel training"): no kernel is split across threads, which pays for the copies and the
 * update that runs after the workers.
 *
 * Written by hand rather than with piscina (used for brick workers): each worker holds state that
 * one step's task must reach by index (its session, its accumulator buffers), not any free worker.
 */
import { Worker } from 'node:worker_threads';
import {
  type CloseRequest,
  type GradientReply,
  type GradientRequest,
  type GradientWorkerSetup,
  toWire,
  type WireTensor,
} from './gradient-wire.js';
import { type Feeds } from './session.js';

type Done = { lossSum: number; accumulated: Float32Array[] };

/** One worker thread and the request it is answering (at most one at a time). */
class GradientWorker {
  private pending: { resolve: (done: Done) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  /** The accumulator buffers of the last reply, handed back with the next request. */
  buffers: Float32Array[] | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly label: string,
  ) {
    // Held (ref) only while a request is out: a run that fails before the trainer is released must
    // not be kept alive by idle workers.
    worker.unref();
    worker.on('message', (message: GradientReply) => this.receive(message));
    worker.on('error', (error) => this.fail(new Error(`${label}: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => this.fail(new Error(`${label} exited (code ${code}) while training ran`)));
  }

  /** Resolves once the worker's session is loaded. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.worker.ref();
      this.pending = { resolve: () => resolve(), reject };
    });
  }

  run(request: GradientRequest): Promise<Done> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pending !== undefined)
      return Promise.reject(new Error(`${this.label} is already running a step`));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      const transfer = (request.buffers ?? []).map((array) => array.buffer as ArrayBuffer);
      this.worker.postMessage(request, transfer);
    });
  }

  /**
   * Asks the worker to release its session and exit, and waits for it (terminated at once if it has
   * failed, or after 10 s). Terminating a worker whose onnxruntime session is alive has aborted the
   * whole process now and then ("terminate called after throwing an instance of 'Napi::Error'").
   */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    if (this.failure !== undefined) {
      await this.worker.terminate();
      return;
    }
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const request: CloseRequest = { kind: 'close' };
    this.worker.postMessage(request);
    const timer = setTimeout(() => void this.worker.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  private receive(message: GradientReply): void {
    const pending = this.pending;
    this.pending = undefined;
    this.worker.unref();
    if (message.kind === 'error') pending?.reject(new Error(`${this.label}: ${message.message}`));
    else if (message.kind === 'gradients') pending?.resolve(message);
    else pending?.resolve({ lossSum: 0, accumulated: [] });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const pending = this.pending;
    this.pending = undefined;
    this.worker.unref();
    pending?.reject(error);
  }
}

export interface GradientWorkersOptions {
  /** Worker threads (each with one onnxruntime thread). */
  count: number;
  setup: Omit<GradientWorkerSetup, 'frozen' | 'label'>;
  /** Frozen inputs: each worker receives its own copy once (onnxruntime cannot read shared memory). */
  frozen: Feeds;
}

export class GradientWorkers {
  private constructor(private readonly workers: GradientWorker[]) {}

  static async create(options: GradientWorkersOptions): Promise<GradientWorkers> {
    if (!Number.isInteger(options.count) || options.count < 1)
      throw new Error(`gradient workers: count must be a positive integer, got ${options.count}`);
    const frozen = toWire(options.frozen);
    const workers = Array.from({ length: options.count }, (_, index) => {
      const label = `gradient worker ${index + 1} of ${options.count}`;
      const workerData: GradientWorkerSetup = { ...options.setup, frozen, label };
      // Keep the parent's Node flags (vitest's, the user's); tsx is registered by the bootstrap.
      const thread = new Worker(new URL('./gradient-worker-bootstrap.js', import.meta.url), {
        workerData,
        execArgv: process.execArgv,
      });
      return new GradientWorker(thread, label);
    });
    const pool = new GradientWorkers(workers);
    try {
      await Promise.all(workers.map((worker) => worker.ready()));
    } catch (error) {
      await pool.release();
      throw error;
    }
    return pool;
  }

  get count(): number {
    return this.workers.length;
  }

  /**
   * Worker w sums the gradients of `shares[w]` (its micro-batches) at `parameters`; the workers'
   * sums are then added into `target` (one array per accumulator, in setup order) in worker order.
   * Returns the sum of every micro-batch's loss.
   */
  async accumulate(
    shares: readonly Feeds[][],
    parameters: Feeds,
    target: readonly Float32Array[],
  ): Promise<number> {
    if (shares.length !== this.workers.length)
      throw new Error(`gradient workers: got ${shares.length} shares for ${this.workers.length} workers`);
    const parameterWire: WireTensor[] = toWire(parameters);
    const results = await Promise.all(
      this.workers.map((worker, index) => {
        const buffers = worker.buffers;
        worker.buffers = undefined;
        const batches = shares[index]!.map(toWire);
        return worker.run({ kind: 'gradients', batches, parameters: parameterWire, buffers });
      }),
    );
    target.forEach((array, index) => {
      array.set(results[0]!.accumulated[index]!);
      for (const result of results.slice(1)) {
        const other = result.accumulated[index]!;
        for (let position = 0; position < array.length; position += 1) array[position]! += other[position]!;
      }
    });
    this.workers.forEach((worker, index) => {
      worker.buffers = results[index]!.accumulated;
    });
    return results.reduce((sum, result) => sum + result.lossSum, 0);
  }

  async release(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}
