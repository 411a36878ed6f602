import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chain } from '../../src/data/schemas.js';
import { calibrateRoute } from '../../src/eval/route-calibration.js';
import { runEval } from '../../src/eval/runner.js';
import { parseSuite, type Suite } from '../../src/eval/suite.js';
import { loadChainRoutes, readRouteFile, writeRouteFile } from '../../src/runtime/routing/route-file.js';
import { makeNanoBrick, type BrickFixture } from '../export/brick-fixture.js';

let root: string;
let nano: BrickFixture;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-cascade-eval-'));
  nano = await makeNanoBrick('decomposer');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(nano.root, { recursive: true, force: true });
});

function cascadeChain(route: Chain['route']): Chain {
  return {
    name: 'cascade',
    decomposer: [nano.brickDirectory, 'reference'],
    solver: 'reference',
    mode: 'static',
    route,
  };
}

function suiteOf(chains: Chain[], split: 'train' | 'test' = 'test'): Suite {
  return parseSuite(
    {
      name: 'cascade-test',
      datasets: [{ name: 'hops', world: 'hops', split, n: 4, seed: 4 }],
      chains,
      concurrency: 2,
    },
    'cascade suite',
  );
}

describe('cascades in the eval', () => {
  it('reports the curve and AUROC from probes, and a cached rerun costs $0', async () => {
    const teacher: Chain = { name: 'teacher', decomposer: 'reference', solver: 'reference', mode: 'static' };
    const suite = suiteOf([cascadeChain({ by: 'mean-logprob', threshold: -1 }), teacher]);
    const out = join(root, 'eval');
    const first = await runEval({ suite, out, resamples: 50 });
    const [cascade] = first.report.cascades ?? [];
    expect(cascade).toBeDefined();
    expect(cascade!.n).toBe(4);
    expect(cascade!.decomposers).toEqual([nano.brickDirectory, 'reference']);
    expect(Object.values(cascade!.decidedBy).reduce((sum, count) => sum + count, 0)).toBe(4);
    expect(cascade!.auroc['mean-logprob']?.n).toBe(4);
    expect(cascade!.auroc['min-logprob']?.n).toBe(4);
    // The curve's +∞ end is the teacher's chain: its score and full price per question.
    const teacherResult = first.report.results.find((result) => result.chain === 'teacher')!;
    const end = cascade!.curve.at(-1)!;
    expect(end.threshold).toBe('Infinity');
    expect(end.escalateShare).toBe(1);
    expect(end.score).toBeCloseTo(teacherResult.score, 10);
    expect(end.costPerExampleUsd).toBeCloseTo(
      (teacherResult.costUsd.total + teacherResult.savedUsd) / teacherResult.n,
      10,
    );
    // Every trace says who decided; the cascade's cost is its own calls, the probes' is apart.
    const traces = first.traces.filter((trace) => trace.chain === 'cascade');
    expect(traces.every((trace) => trace.route !== undefined)).toBe(true);
    expect(first.summary.spentUsd).toBeGreaterThan(0);
    const rerun = await runEval({ suite, out, rerun: true, resamples: 50 });
    expect(rerun.summary.spentUsd).toBe(0);
    expect(rerun.summary.cacheMisses).toBe(0);
    expect(rerun.report.cascades).toEqual(first.report.cascades);
  });

  it('calibrates on non-test data, writes a route file the chain loads, and never reads a test split', async () => {
    const chain = cascadeChain({ by: 'mean-logprob', threshold: 0 });
    const testOut = join(root, 'calibrate-test');
    await expect(
      calibrateRoute({
        suite: suiteOf([chain], 'test'),
        suiteFile: 'cascade suite',
        chain: 'cascade',
        criterion: { kind: 'target-accuracy', value: 0.9 },
        out: testOut,
      }),
    ).rejects.toThrow(/dataset "hops" of cascade suite is a test split/);
    expect(existsSync(testOut)).toBe(false);

    const result = await calibrateRoute({
      suite: suiteOf([chain], 'train'),
      suiteFile: 'cascade suite',
      chain: 'cascade',
      criterion: { kind: 'escalate-share', value: 0.5 },
      out: join(root, 'calibrate-train'),
    });
    expect(result.routeFile.calibration.datasets).toEqual([
      { name: 'hops', world: 'hops', split: 'train', n: 4, seed: 4 },
    ]);
    // The untrained nano brick faults often: the share is met when the curve allows it.
    const lowest = Math.min(...result.curve.map((point) => point.escalateShare));
    expect(result.routeFile.calibration.met).toBe(lowest <= 0.5);
    if (result.routeFile.calibration.met)
      expect(result.routeFile.calibration.achieved.escalateShare).toBeLessThanOrEqual(0.5);
    expect(result.curve.map((point) => point.threshold)).toContain(result.routeFile.route.threshold);
    const file = join(root, 'route.json');
    await writeRouteFile(file, result.routeFile);
    const [loaded] = await loadChainRoutes([cascadeChain({ file })], root);
    expect(loaded!.route).toEqual((await readRouteFile(file)).route);
    expect(loaded!.route).toMatchObject({ by: 'mean-logprob', threshold: result.routeFile.route.threshold });
  });

  it('refuses a route file calibrated for a different cascade length', async () => {
    const file = join(root, 'short.json');
    await writeRouteFile(file, {
      version: 1,
      chain: 'other',
      decomposers: ['a', 'b', 'c'],
      route: { by: 'min-logprob', threshold: -Infinity },
      calibration: {
        suite: 's',
        datasets: [{ name: 'd' }],
        examples: 1,
        criterion: { kind: 'target-accuracy', value: 0.9 },
        met: true,
        achieved: { accuracy: 1, escalateShare: 0, costPerExampleUsd: 0 },
        createdAt: 'now',
      },
    });
    expect((await readRouteFile(file)).route.threshold).toBe(-Infinity);
    await expect(loadChainRoutes([cascadeChain({ file })], root)).rejects.toThrow(
      /calibrated for 3 decomposers, the chain has 2/,
    );
  });
});
