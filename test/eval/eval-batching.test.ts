/**
 * `dnc eval` batches concurrent calls to a local brick (as `dnc serve` does): the eval's worker
 * bricks get a batcher, and a batched eval gives every example the decomposition and score it gets
 * when each call runs alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chain } from '../../src/data/schemas.js';
import { loadEvalBricks } from '../../src/eval/eval-bricks.js';
import { runEval } from '../../src/eval/runner.js';
import { parseSuite } from '../../src/eval/suite.js';
import { WorkerBrick } from '../../src/runtime/workers/brick-pool.js';
import { makeNanoBrick, type BrickFixture } from '../export/brick-fixture.js';

let root: string;
let nano: BrickFixture;
let chains: Chain[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-eval-batching-'));
  nano = await makeNanoBrick('decomposer');
  chains = [
    {
      name: 'nano/reference',
      decomposer: nano.brickDirectory,
      solver: 'reference',
      mode: 'static',
      maxSubquestions: 2,
    },
  ];
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(nano.root, { recursive: true, force: true });
});

describe('eval batching of local brick calls', () => {
  it('gives the worker brick a batcher only for a batch size above 1', async () => {
    for (const [batchSize, batched] of [
      [8, true],
      [1, false],
    ] as const) {
      const bricks = await loadEvalBricks(chains, {
        loadOptions: { prices: {}, usdPerCpuHour: 0 },
        localThreads: 1,
        batching: { batchSize, waitMs: 5 },
      });
      try {
        const { brick, placement } = bricks.get(nano.brickDirectory);
        expect(placement).toBe('worker');
        expect(brick).toBeInstanceOf(WorkerBrick);
        expect((brick as WorkerBrick).batcher !== undefined).toBe(batched);
      } finally {
        await bricks.close();
      }
    }
  }, 60_000);

  it('gives every example the same decomposition and score batched as alone', async () => {
    const suite = parseSuite(
      {
        name: 'batching',
        datasets: [
          { name: 'hops', world: 'hops', split: 'test', n: 6, seed: 4 },
          { name: 'math', world: 'math', split: 'test', n: 6, seed: 4 },
        ],
        chains,
        concurrency: 12,
      },
      'test suite',
    );
    const run = async (batchSize: number) => {
      const { traces, report } = await runEval({
        suite,
        out: join(root, `batch-${batchSize}`),
        localThreads: 1,
        batchSize,
      });
      const byKey = traces.map((trace) => [trace.exampleId, trace.subquestions, trace.correct]);
      return { byKey, scores: report.results.map((result) => result.score) };
    };
    const alone = await run(1);
    const batched = await run(8);
    expect(batched.byKey).toEqual(alone.byKey);
    expect(batched.scores).toEqual(alone.scores);
    expect(alone.byKey).toHaveLength(12);
  }, 120_000);
});
