/**
 * A local (`onnx`) brick stand-in for cancellation tests, loaded in the serve worker threads: asked
 * the question `wait`, its decompose runs until its AbortSignal aborts (yielding to the event loop
 * between turns, as the generation loop does between ONNX runs), then fails naming the reason; any
 * other question is answered at once. A `wait` call appends a line to `<brick dir>/started` when it
 * begins, so a test knows the call is running in the worker without waiting a fixed time.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Brick, DecomposeInput } from '../../src/runtime/bricks/brick.js';
import type { BrickLoader } from '../../src/runtime/bricks/registry.js';

const turn = () => new Promise((resolve) => setTimeout(resolve, 1));

export const brickLoaders: BrickLoader[] = [
  {
    kind: 'onnx',
    load: async (spec) => {
      const brick: Brick = {
        specificationVersion: 'v1',
        spec: spec.spec,
        kind: 'onnx',
        role: 'decomposer',
        model: 'waiting',
        decompose: async (input: DecomposeInput) => {
          if (input.question === 'wait') {
            appendFileSync(join(spec.path ?? spec.spec, 'started'), 'started\n');
            while (input.signal?.aborted !== true) await turn();
            throw new Error(`stopped in the worker: ${(input.signal.reason as Error).message}`);
          }
          return {
            subquestions: [input.question],
            kind: 'subquestions',
            usage: { inputTokens: 1, outputTokens: 1 },
            latencyMs: 0,
            costUsd: 0,
            raw: input.question,
            warnings: [],
            finishReason: 'stop',
          };
        },
      };
      return brick;
    },
  },
];
