/**
 * The brick worker (runs inside a piscina worker thread, started by brick-worker-bootstrap.js):
 * loads each brick once — the specs in `workerData` at start-up, any other on first use — and
 * serves `describe` and `call` tasks. A local brick's synchronous onnxruntime `run` blocks
 * only this thread, never the server's event loop.
 */
import { workerData } from 'piscina';
import { cancelledError } from '../abort-reason.js';
import type { Brick } from '../bricks/brick.js';
import { defaultBrickLoaders, loadBrick, type BrickLoader } from '../bricks/registry.js';
import {
  describeBrick,
  isBatchable,
  type BatchOutcome,
  type BrickDescription,
  type BrickMethod,
  type BrickTask,
  type BrickWorkerData,
} from './brick-task.js';

const data = workerData as BrickWorkerData;
const bricks = new Map<string, Promise<Brick>>();
const extraLoaders: BrickLoader[] = [];
for (const url of data.loaderModules) {
  const module = (await import(url)) as { brickLoaders?: BrickLoader[] };
  if (!Array.isArray(module.brickLoaders))
    throw new Error(`brick loader module ${url} exports no \`brickLoaders\` array`);
  extraLoaders.push(...module.brickLoaders);
}
const loaders = [...extraLoaders, ...defaultBrickLoaders];

function brickFor(spec: string): Promise<Brick> {
  let brick = bricks.get(spec);
  if (brick === undefined) {
    brick = loadBrick(spec, { ...data.loadOptions, loaders });
    bricks.set(spec, brick);
  }
  return brick;
}

// Load the configured bricks before the first task (piscina waits for this module to evaluate).
// A brick that fails to load fails its `describe` task, which names it; it must not kill the worker.
await Promise.allSettled(data.specs.map(brickFor));

/** How often a running call looks at its cancellation flag (between generation steps, the event loop turns). */
const cancelPollMs = 2;

function methodOf(brick: Brick, spec: string, name: BrickMethod): (input: unknown) => Promise<unknown> {
  const method = brick[name];
  if (typeof method !== 'function')
    throw new Error(`brick '${spec}' has no ${name} method (it cannot play that part)`);
  return method as (input: unknown) => Promise<unknown>;
}

/** Shared flags turned into this thread's AbortSignals, polled between generation steps. */
function watchFlags(flags: readonly (Int32Array | undefined)[]): {
  signals: (AbortSignal | undefined)[];
  stop(): void;
} {
  const controllers = flags.map((flag) => (flag === undefined ? undefined : new AbortController()));
  const check = () =>
    flags.forEach((flag, index) => {
      const controller = controllers[index];
      if (
        flag !== undefined &&
        controller !== undefined &&
        !controller.signal.aborted &&
        Atomics.load(flag, 0) === 1
      )
        controller.abort(cancelledError());
    });
  check();
  const poll = flags.some((flag) => flag !== undefined) ? setInterval(check, cancelPollMs) : undefined;
  return { signals: controllers.map((controller) => controller?.signal), stop: () => clearInterval(poll) };
}

/** A batch of calls: one generation for a batchable brick, else the calls one by one. */
async function handleBatch(
  task: Extract<BrickTask, { op: 'callBatch' }>,
  brick: Brick,
): Promise<BatchOutcome[]> {
  const watched = watchFlags(task.cancels);
  try {
    const inputs = task.inputs.map((input, index) => {
      const signal = watched.signals[index];
      return signal === undefined ? input : { ...input, signal };
    });
    let settled: PromiseSettledResult<unknown>[];
    if (isBatchable(brick))
      settled = await brick.callBatch(
        task.method,
        inputs,
        task.joinRunning === undefined ? {} : { joinRunning: task.joinRunning },
      );
    else {
      const call = methodOf(brick, task.spec, task.method);
      settled = [];
      for (const input of inputs) settled.push(...(await Promise.allSettled([call.call(brick, input)])));
    }
    return settled.map((outcome) =>
      outcome.status === 'fulfilled'
        ? { ok: true, value: outcome.value }
        : {
            ok: false,
            error: outcome.reason instanceof Error ? outcome.reason : new Error(String(outcome.reason)),
          },
    );
  } finally {
    watched.stop();
  }
}

export async function handleBrickTask(task: BrickTask): Promise<BrickDescription | unknown> {
  const brick = await brickFor(task.spec);
  if (task.op === 'describe') return describeBrick(brick);
  if (task.op === 'callBatch') return handleBatch(task, brick);
  const call = methodOf(brick, task.spec, task.method);
  const flag = task.cancel;
  if (flag === undefined) return call.call(brick, task.input);
  // The flag becomes this thread's AbortSignal: onnxruntime's run yields to the event loop, so the
  // poll runs between steps and the generation loop's throwIfAborted stops the call there.
  const controller = new AbortController();
  const abortIfCancelled = () => {
    if (Atomics.load(flag, 0) === 1) controller.abort(cancelledError());
  };
  abortIfCancelled();
  const poll = setInterval(abortIfCancelled, cancelPollMs);
  try {
    return await call.call(brick, { ...task.input, signal: controller.signal });
  } finally {
    clearInterval(poll);
  }
}
