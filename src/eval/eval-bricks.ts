/**
 * The bricks of an eval, each distinct spec loaded once and shared by every chain that names
 * it (so a remote brick's concurrency and rate limits are shared too). Local (ONNX) bricks run
 * in serve's piscina worker pool — their synchronous onnxruntime `run` would otherwise block the
 * runner — with as many calls at once as the pool has threads; the others run on the main thread.
 * Loading problems are UserErrors naming the spec and the chains that use it, raised before
 * any example runs.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { chainDecomposers, type Chain } from '../data/schemas.js';
import type { Brick } from '../runtime/bricks/brick.js';
import { parseBrickSpec } from '../runtime/bricks/brick-spec.js';
import { loadBrick, type LoadBrickOptions } from '../runtime/bricks/registry.js';
import { type BrickBatcherOptions } from '../runtime/workers/brick-batcher.js';
import { BrickPool, WorkerBrick } from '../runtime/workers/brick-pool.js';
import { isRemoteBrickDirectory } from '../train/remote/remote-brick-manifest.js';
import { brickIdentity } from './brick-identity.js';
import { suiteBrickSpecs } from './suite.js';

export interface LoadedBrick {
  brick: Brick;
  /** Content identity for the call cache (`brickIdentity`). */
  identity: string;
  placement: 'worker' | 'main';
}

export interface EvalBricks {
  get(spec: string): LoadedBrick;
  close(): Promise<void>;
}

export interface EvalBricksOptions {
  loadOptions: LoadBrickOptions;
  /** Worker threads for local bricks. */
  localThreads: number;
  /** `always` runs every brick in the pool (tests the pool with bricks that need no model). */
  placement?: 'auto' | 'always';
  /**
   * Concurrent calls to one local brick run as one batched generation (as in `dnc serve`);
   * absent or a batch size of 1: each call runs alone.
   */
  batching?: BrickBatcherOptions;
}

function chainsUsing(spec: string, chains: readonly Chain[]): string {
  const names = chains
    .filter((chain) => chain.solver === spec || chainDecomposers(chain).includes(spec))
    .map((chain) => `"${chain.name}"`);
  return `chain${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
}

function checkBrickDirectory(spec: string, cwd: string): void {
  const path = parseBrickSpec(spec).path;
  if (path === undefined) return;
  const directory = resolve(cwd, path);
  if (!existsSync(directory) || !statSync(directory).isDirectory())
    throw new Error(
      `no brick directory at ${directory} (check the path, or make one with \`dnc export CHECKPOINT_DIR --out BRICK_DIR\`)`,
    );
}

async function loadOne(
  spec: string,
  pool: BrickPool | undefined,
  options: EvalBricksOptions,
): Promise<LoadedBrick> {
  const cwd = options.loadOptions.cwd ?? process.cwd();
  checkBrickDirectory(spec, cwd);
  const identity = await brickIdentity(spec, { cwd });
  if (pool !== undefined)
    return {
      brick: new WorkerBrick(pool, await pool.describe(spec), options.batching),
      identity,
      placement: 'worker',
    };
  return { brick: await loadBrick(spec, options.loadOptions), identity, placement: 'main' };
}

export async function loadEvalBricks(
  chains: readonly Chain[],
  options: EvalBricksOptions,
): Promise<EvalBricks> {
  const specs = suiteBrickSpecs(chains);
  const cwd = options.loadOptions.cwd ?? process.cwd();
  // A remotely fine-tuned brick directory waits on the network, like `openai:MODEL`: main thread.
  const isRemote = (path: string | undefined) =>
    path !== undefined && isRemoteBrickDirectory(resolve(cwd, path));
  const inWorker = (spec: string) =>
    options.placement === 'always' ||
    (parseBrickSpec(spec).kind === 'onnx' && !isRemote(parseBrickSpec(spec).path));
  const workerSpecs = specs.filter(inWorker);
  const pool =
    workerSpecs.length === 0
      ? undefined
      : new BrickPool({
          specs: [],
          threads: options.localThreads,
          loadOptions: {
            prices: options.loadOptions.prices,
            usdPerCpuHour: options.loadOptions.usdPerCpuHour,
            cwd: options.loadOptions.cwd ?? process.cwd(),
            // Several workers each running a brick call: one onnxruntime thread apiece.
            ...(options.localThreads > 1 ? { localThreads: 1 } : {}),
          },
        });
  const loaded = new Map<string, LoadedBrick>();
  const closeAll = async () => {
    await Promise.allSettled([...loaded.values()].map((entry) => entry.brick.close?.()));
    await pool?.close();
  };
  try {
    for (const spec of specs) {
      try {
        loaded.set(spec, await loadOne(spec, inWorker(spec) ? pool : undefined, options));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new UserError(`brick '${spec}' (${chainsUsing(spec, chains)}): ${message}`, { cause: error });
      }
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  return {
    get(spec) {
      const entry = loaded.get(spec);
      if (entry === undefined)
        throw new Error(`brick '${spec}' was not loaded: no chain of the suite names it`);
      return entry;
    },
    close: closeAll,
  };
}
