import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainSchema, type Chain } from '../../src/data/schemas.js';
import {
  loadChainRoutes,
  loadChainRoutesSync,
  readRouteFile,
  writeRouteFile,
  type RouteFile,
} from '../../src/runtime/routing/route-file.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-route-file-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const routeFile = (threshold: number): RouteFile => ({
  version: 1,
  chain: 'cascade',
  decomposers: ['student', 'reference'],
  route: { by: 'mean-logprob', threshold, samples: 5 },
  calibration: {
    suite: 'eval/cascade-calibration.json',
    datasets: [{ name: 'hops-train-heldout', world: 'hops', split: 'train', n: 100, seed: 7 }],
    examples: 100,
    criterion: { kind: 'target-accuracy', value: 0.97 },
    met: true,
    achieved: { accuracy: 0.97, escalateShare: 0.4, costPerExampleUsd: 0.002 },
    createdAt: '2026-01-01T00:00:00.000Z',
  },
});

const chain = (file: string): Chain =>
  chainSchema.parse({
    name: 'cascade',
    decomposer: ['student', 'reference'],
    solver: 'reference',
    mode: 'static',
    route: { file },
  });

describe('route files', () => {
  it('round-trip finite and infinite thresholds, and chains load them (sync and async)', async () => {
    for (const threshold of [-0.25, Infinity, -Infinity]) {
      const file = join(root, `route-${threshold}.json`);
      await writeRouteFile(file, routeFile(threshold));
      expect((await readRouteFile(file)).route.threshold).toBe(threshold);
      const [loaded] = await loadChainRoutes([chain(file)], root);
      expect(loaded!.route).toEqual({ by: 'mean-logprob', threshold, samples: 5 });
      expect(loadChainRoutesSync([chain(file)], root)).toEqual([loaded]);
      // A loaded chain is still a valid chain (checked again before every run).
      expect(chainSchema.safeParse(loaded).success).toBe(true);
    }
  });

  it('fails with one line naming the chain and the fix for a missing or malformed file', async () => {
    await expect(loadChainRoutes([chain('missing.json')], root)).rejects.toThrow(
      /route file of chain "cascade" not found: .*missing\.json \(write one with `dnc route calibrate/,
    );
    const bad = join(root, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...routeFile(0), route: { by: 'volume', threshold: 0 } }));
    expect(() => loadChainRoutesSync([chain(bad)], root)).toThrow(
      /route file of chain "cascade" .*`by` is one of/,
    );
  });
});
