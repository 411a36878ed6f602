/**
 * The brick worker (runs inside a piscina worker thread, started by brick-worker-bootstrap.js):
 * loads each brick once — the specs in `workerData` at start-up, any other on first use — and
 * serves `describe` and `call` tasks. A local brick's synchronous onnxruntime `run` blocks
 * only this thread, never the server's event loop.
 */
import { workerData } from 'piscina';
import type { Brick } from '../runtime/bricks/brick.js';
import { defaultBrickLoaders, loadBrick, type BrickLoader } from '../runtime/bricks/registry.js';
import { describeBrick, type BrickDescription, type BrickTask, type BrickWorkerData } from './brick-task.js';

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

export async function handleBrickTask(task: BrickTask): Promise<BrickDescription | unknown> {
  const brick = await brickFor(task.spec);
  if (task.op === 'describe') return describeBrick(brick);
  const method = brick[task.method];
  if (typeof method !== 'function')
    throw new Error(`brick '${task.spec}' has no ${task.method} method (it cannot play that part)`);
  const call = method as (input: unknown) => Promise<unknown>;
  const flag = task.cancel;
  if (flag === undefined) return call.call(brick, task.input);
  // The flag becomes this thread's AbortSignal: onnxruntime's run yields to the event loop, so the
  // poll runs between steps and the generation loop's throwIfAborted stops the call there.
  const controller = new AbortController();
  const abortIfCancelled = () => {
    if (Atomics.load(flag, 0) === 1) controller.abort(new Error('the request was cancelled'));
  };
  abortIfCancelled();
  const poll = setInterval(abortIfCancelled, cancelPollMs);
  try {
    return await call.call(brick, { ...task.input, signal: controller.signal });
  } finally {
    clearInterval(poll);
  }
}
