/**
 * The messages between the main thread and a brick worker: `describe` (what a loaded brick
 * can do) and `call` (one brick method with its input). Everything here crosses threads by
 * structured clone, so inputs carry no AbortSignal and results are plain data.
 */
import type { Brick, BrickKind, BrickRole } from '../bricks/brick.js';

export type BrickMethod = 'decompose' | 'solve' | 'nextSubquestion';
export const brickMethods: readonly BrickMethod[] = ['decompose', 'solve', 'nextSubquestion'];

/** What a worker needs to load bricks: the serializable part of `LoadBrickOptions`. */
export interface WorkerLoadOptions {
  prices?: Record<string, { inputPerMillion: number; outputPerMillion: number }>;
  usdPerCpuHour?: number;
  cwd?: string;
  localThreads?: number;
}

export interface BrickWorkerData {
  /** Specs every worker loads once at start-up. */
  specs: string[];
  loadOptions: WorkerLoadOptions;
  /**
   * Module URLs whose `brickLoaders` export (BrickLoader[]) the workers try before the default
   * loaders: how an embedder (or a test) adds a kind of local brick that must run in a worker.
   */
  loaderModules: string[];
}

export type BrickTask =
  | { op: 'describe'; spec: string }
  | {
      op: 'call';
      spec: string;
      method: BrickMethod;
      input: Record<string, unknown>;
      /**
       * A cancellation flag shared with the main thread (an Int32Array over a SharedArrayBuffer,
       * which structured clone shares rather than copies): 1 once the request was aborted. The
       * worker turns it into the call's AbortSignal, so a running generation stops at its next step.
       */
      cancel?: Int32Array;
    }
  | {
      /**
       * Several calls of one method as one batch (brick-batcher.ts): a local brick runs their
       * greedy passes as one generation. One cancellation flag per call; each call settles alone.
       */
      op: 'callBatch';
      spec: string;
      method: BrickMethod;
      inputs: Record<string, unknown>[];
      cancels: (Int32Array | undefined)[];
      /**
       * Continuous batching: the calls join a generation of the brick already running in this
       * worker (at its next step) while it holds fewer than `maxRows` rows.
       */
      joinRunning?: { maxRows: number };
    };

/** A batch's answer: one settled result per call, in order (errors cross as Error clones). */
export type BatchOutcome = { ok: true; value: unknown } | { ok: false; error: Error };

export interface BrickDescription {
  spec: string;
  kind: BrickKind;
  role?: BrickRole;
  model: string;
  methods: BrickMethod[];
  /** Whether the brick runs several calls of one method as one batch (`callBatch`). */
  batchable: boolean;
}

/** A brick that runs several calls of one method as one batch (the local ONNX brick). */
export interface BatchableBrick extends Brick {
  callBatch(
    method: BrickMethod,
    inputs: readonly Record<string, unknown>[],
    options?: { joinRunning?: { maxRows: number } },
  ): Promise<PromiseSettledResult<unknown>[]>;
}

export function isBatchable(brick: Brick): brick is BatchableBrick {
  return typeof (brick as Partial<BatchableBrick>).callBatch === 'function';
}

export function describeBrick(brick: Brick): BrickDescription {
  const description: BrickDescription = {
    spec: brick.spec,
    kind: brick.kind,
    model: brick.model,
    methods: brickMethods.filter((method) => typeof brick[method] === 'function'),
    batchable: isBatchable(brick),
  };
  if (brick.role !== undefined) description.role = brick.role;
  return description;
}
