/**
 * A local (`onnx`) brick stand-in whose calls block their thread until the test lets them go,
 * loaded in the serve worker threads through `workerLoaderModules`. Its spec is a directory: each
 * call appends `started <threadId>` to `<dir>/started`, then blocks its thread (Atomics.wait sleeps
 * it, as a synchronous onnxruntime run holds it) until `<dir>/release` exists, then answers as the
 * reference expert. So a test knows, without timing anything, when every worker is inside a call.
 * Loading waits the same way for `<dir>/loadable`, so a test sees the server before its bricks are
 * ready for as long as it needs. A call never released gives up after a minute and says so in its
 * warnings (a test checks that none did), so a mistake fails the test instead of hanging it.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { Brick } from '../../src/runtime/bricks/brick.js';
import { ReferenceBrick } from '../../src/runtime/bricks/reference-brick.js';
import type { BrickLoader } from '../../src/runtime/bricks/registry.js';
import { createReferenceExpert } from '../../src/worlds/index.js';

const giveUpAfterMs = 60_000;

/** Blocks the thread until `<directory>/release` exists; whether it did (false: gave up). */
function blockUntilReleased(directory: string): boolean {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < giveUpAfterMs; waited += 5) {
    if (existsSync(join(directory, 'release'))) return true;
    Atomics.wait(cell, 0, 0, 5);
  }
  return false;
}

/** Resolves once `<directory>/loadable` exists; throws when it never does. */
async function untilLoadable(directory: string): Promise<void> {
  for (let waited = 0; waited < giveUpAfterMs; waited += 5) {
    if (existsSync(join(directory, 'loadable'))) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${join(directory, 'loadable')} never appeared`);
}

export const brickLoaders: BrickLoader[] = [
  {
    kind: 'onnx',
    load: async (spec) => {
      const directory = spec.path ?? spec.spec;
      await untilLoadable(directory);
      const inner = new ReferenceBrick(createReferenceExpert());
      const gated =
        <Input, Output extends { warnings: string[] }>(call: (input: Input) => Promise<Output>) =>
        async (input: Input) => {
          appendFileSync(join(directory, 'started'), `started ${threadId}\n`);
          const released = blockUntilReleased(directory);
          const result = await call.call(inner, input);
          const note = released ? `released on thread ${threadId}` : 'gave up waiting for the release';
          return { ...result, warnings: [...result.warnings, note] };
        };
      const brick: Brick = {
        specificationVersion: 'v1',
        spec: spec.spec,
        kind: 'onnx',
        role: 'decomposer',
        model: 'gated',
        decompose: gated(inner.decompose),
        nextSubquestion: gated(inner.nextSubquestion),
      };
      return brick;
    },
  },
];
