/**
 * The brick worker (runs inside a piscina worker thread, started by brick-worker-bootstrap.js):
 * loads each brick once — the specs in `workerData` at start-up, any other on first use — and
 * serves `describe` and `call` tasks. A local brick's synchronous onnxruntime `run` blocks
 * only this thread, never the server's event loop.
 */
import { workerData } from 'piscina';
import type { Brick } from '../runtime/bricks/brick.js';
import { loadBrick } from '../runtime/bricks/registry.js';
import { describeBrick, type BrickDescription, type BrickTask, type BrickWorkerData } from './brick-task.js';

const data = workerData as BrickWorkerData;
const bricks = new Map<string, Promise<Brick>>();

function brickFor(spec: string): Promise<Brick> {
  let brick = bricks.get(spec);
  if (brick === undefined) {
    brick = loadBrick(spec, data.loadOptions);
    bricks.set(spec, brick);
  }
  return brick;
}

// Load the configured bricks before the first task: piscina waits for this module to evaluate.
await Promise.all(data.specs.map(brickFor));

export async function handleBrickTask(task: BrickTask): Promise<BrickDescription | unknown> {
  const brick = await brickFor(task.spec);
  if (task.op === 'describe') return describeBrick(brick);
  const method = brick[task.method];
  if (typeof method !== 'function')
    throw new Error(`brick '${task.spec}' has no ${task.method} method (it cannot play that part)`);
  return (method as (input: unknown) => Promise<unknown>).call(brick, task.input);
}
