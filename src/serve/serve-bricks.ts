/**
 * Loads the bricks of the served chains, each spec once, and places them: local (`onnx`) and
 * `reference` bricks — and every brick with placement `always` — in the worker pool; remote
 * bricks on the main thread behind a per-brick p-limit.
 */
import { resolve } from 'node:path';
import { chainDecomposers, type Chain } from '../data/schemas.js';
import type { Brick } from '../runtime/bricks/brick.js';
import { parseBrickSpec } from '../runtime/bricks/brick-spec.js';
import { loadBrick, type LoadBrickOptions } from '../runtime/bricks/registry.js';
import { isRemoteBrickDirectory } from '../train/remote/remote-brick-manifest.js';
import { BrickPool, WorkerBrick, type WorkerBatching } from '../runtime/workers/brick-pool.js';
import type { WorkerLoadOptions } from '../runtime/workers/brick-task.js';
import { LimitedBrick } from './limited-brick.js';
import { ServeConfigError } from './serve-config.js';

export interface ServeBricksOptions {
  placement: 'auto' | 'always';
  threads: number;
  remoteConcurrency: number;
  /** Options for `loadBrick`; only the serializable ones (prices, $/CPU-hour, cwd) reach workers. */
  loadOptions: LoadBrickOptions;
  /** Module URLs exporting `brickLoaders` for the workers (see BrickWorkerData). */
  workerLoaderModules?: string[];
  /** Batching of concurrent calls to a local brick in the workers (src/runtime/workers/brick-batcher.ts); absent: none. */
  batching?: WorkerBatching;
}

export interface ServeBricks {
  /** The brick for a spec named by a served chain. */
  get(spec: string): Brick;
  /** Where each spec runs. */
  placements: Record<string, 'worker' | 'main'>;
  pool: BrickPool | undefined;
  close(): Promise<void>;
}

/**
 * Whether a brick runs in the worker pool. Every brick that computes — a local (`onnx`) model,
 * the `reference` expert parsing the question's text — runs there, so a costly request never
 * holds the event loop (other requests, /healthz and the per-request deadline keep running).
 * Only remote (`openai:`) bricks, which wait on the network, stay on the main thread.
 */
export function runsInWorker(spec: string, placement: 'auto' | 'always'): boolean {
  const { kind, path } = parseBrickSpec(spec);
  // A brick directory of a remotely fine-tuned model waits on the network, like `openai:MODEL`.
  if (placement === 'auto' && path !== undefined && isRemoteBrickDirectory(resolve(path))) return false;
  return placement === 'always' || kind === 'onnx' || kind === 'reference';
}

function chainSpecs(chains: readonly Chain[]): string[] {
  const specs = new Set<string>();
  for (const chain of chains) {
    for (const spec of chainDecomposers(chain)) specs.add(spec);
    specs.add(chain.solver);
  }
  for (const spec of specs)
    if (parseBrickSpec(spec).kind === 'gold')
      throw new ServeConfigError(
        "brick 'gold' reads a dataset example's gold decomposition, and a served request is a free " +
          'question with none; use `reference`, `openai:MODEL` or a brick directory instead',
      );
  return [...specs];
}

function workerLoadOptions(options: LoadBrickOptions): WorkerLoadOptions {
  // One onnxruntime thread per worker: the pool already runs one brick call per worker thread.
  return {
    prices: options.prices,
    usdPerCpuHour: options.usdPerCpuHour,
    cwd: options.cwd ?? process.cwd(),
    localThreads: options.localThreads ?? 1,
  };
}

export async function loadServeBricks(
  chains: readonly Chain[],
  options: ServeBricksOptions,
): Promise<ServeBricks> {
  const specs = chainSpecs(chains);
  const placements: Record<string, 'worker' | 'main'> = {};
  for (const spec of specs) placements[spec] = runsInWorker(spec, options.placement) ? 'worker' : 'main';
  const workerSpecs = specs.filter((spec) => placements[spec] === 'worker');
  const pool =
    workerSpecs.length === 0
      ? undefined
      : new BrickPool({
          specs: workerSpecs,
          threads: options.threads,
          loadOptions: workerLoadOptions(options.loadOptions),
          loaderModules: options.workerLoaderModules,
          // Continuous batching: a worker takes two batches of calls at once (one decoding, one
          // waiting to join its generation), and a batch of other tasks (a reference solver's).
          tasksPerWorker:
            options.batching?.continuous === true && options.batching.batchSize > 1
              ? 3 * options.batching.batchSize
              : 1,
        });
  const loaded = new Map<string, Brick>();
  try {
    await Promise.all(
      specs.map(async (spec) => {
        const brick =
          pool !== undefined && placements[spec] === 'worker'
            ? new WorkerBrick(pool, await pool.describe(spec), options.batching)
            : new LimitedBrick(await loadBrick(spec, options.loadOptions), options.remoteConcurrency);
        loaded.set(spec, brick);
      }),
    );
  } catch (error) {
    await Promise.all([...loaded.values()].map((brick) => brick.close?.()));
    await pool?.close();
    throw error;
  }
  return {
    get(spec) {
      const brick = loaded.get(spec);
      if (brick === undefined) throw new Error(`brick '${spec}' is not loaded (no served chain names it)`);
      return brick;
    },
    placements,
    pool,
    async close() {
      await Promise.all([...loaded.values()].map((brick) => brick.close?.()));
      await pool?.close();
    },
  };
}
