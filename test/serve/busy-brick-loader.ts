/**
 * A stand-in for a local (`onnx`) brick until the ONNX brick lands: loaded in the serve worker
 * threads through `workerLoaderModules`. Its spec is a directory path (so its kind is `onnx`),
 * named `busy-<N>ms`: every call blocks its thread for N ms (as a synchronous onnxruntime run
 * does), then answers as the reference expert. Each result carries a warning naming the
 * thread it ran on.
 */
import { threadId } from 'node:worker_threads';
import type { Brick } from '../../src/runtime/bricks/brick.js';
import { ReferenceBrick } from '../../src/runtime/bricks/reference-brick.js';
import type { BrickLoader } from '../../src/runtime/bricks/registry.js';
import { createReferenceExpert } from '../../src/worlds/index.js';

/**
 * Blocks the calling thread for `milliseconds`, as a synchronous onnxruntime run does, without
 * burning CPU (Atomics.wait sleeps the thread): on a shared 2-core machine a spinning stand-in
 * would measure CPU contention rather than event-loop blocking.
 */
function blockFor(milliseconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
}

export const brickLoaders: BrickLoader[] = [
  {
    kind: 'onnx',
    load: async (spec) => {
      const busyMs = Number(/busy-(\d+)ms/.exec(spec.spec)?.[1] ?? '0');
      const inner = new ReferenceBrick(createReferenceExpert());
      const busy =
        <Input, Output extends { warnings: string[] }>(call: (input: Input) => Promise<Output>) =>
        async (input: Input) => {
          blockFor(busyMs);
          const result = await call.call(inner, input);
          return { ...result, warnings: [...result.warnings, `ran on thread ${threadId}`] };
        };
      const brick: Brick = {
        specificationVersion: 'v1',
        spec: spec.spec,
        kind: 'onnx',
        role: 'decomposer',
        model: 'busy',
        decompose: busy(inner.decompose),
        nextSubquestion: busy(inner.nextSubquestion),
      };
      return brick;
    },
  },
];
