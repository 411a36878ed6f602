/**
 * Local bricks run in the worker pool: a brick directory spec (kind `onnx`) is routed to the
 * workers automatically, and so is `reference` (it parses text: CPU work); a brick that blocks its
 * thread for 400 ms per call never stalls the server's event loop that long; `/readyz` is 503
 * until the workers have loaded their bricks, and a brick that cannot load is reported.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './serve-harness.js';

const busyLoaders = new URL('./busy-brick-loader.ts', import.meta.url).href;
const question = 'Which was founded first, Plinsteford or Plixhio?';

describe('worker pool for local bricks', () => {
  let directory: string;
  let busyBrick: string;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'dnc-serve-'));
    busyBrick = join(directory, 'busy-400ms');
    mkdirSync(busyBrick);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  async function start(decomposer: string): Promise<TestServer> {
    return startTestServer(
      {
        chains: [{ name: 'local/ref', decomposer, solver: 'reference', mode: 'static' }],
        workers: { threads: 2 },
        limits: { concurrency: 8 },
      },
      { workerLoaderModules: [busyLoaders], waitReady: false },
    );
  }

  it('is 503 on /readyz until the workers have loaded, then routes the local brick to them', async () => {
    const server = await start(busyBrick);
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const early = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'local/ref', messages: [{ role: 'user', content: question }] }),
      });
      expect(early.status).toBe(503);
      await server.serve.ready;
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(server.serve.readiness.placements).toEqual({ [busyBrick]: 'worker', reference: 'worker' });

      const lag = monitorEventLoopDelay({ resolution: 5 });
      lag.enable();
      const startedAt = performance.now();
      const responses = await Promise.all(
        Array.from({ length: 4 }, () =>
          fetch(`${server.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'local/ref', messages: [{ role: 'user', content: question }] }),
          }).then(
            (response) =>
              response.json() as Promise<{
                choices: { message: { content: string } }[];
                dnc: { warnings: string[] };
              }>,
          ),
        ),
      );
      const elapsed = performance.now() - startedAt;
      lag.disable();
      for (const body of responses) {
        expect(body.choices[0]?.message.content).toBe('Plixhio');
        const thread = /ran on thread (\d+)/.exec(body.dnc.warnings.join('\n'))?.[1];
        expect(Number(thread)).toBeGreaterThan(0);
      }
      // 4 decompositions × 400 ms of blocking on 2 workers: ≥ 800 ms of wall time, and the main
      // thread's event loop never stalled for a whole brick call (it would, for at least 400 ms,
      // if one ran on it). The < 50 ms p99 target is measured by `dnc bench serve`: on a shared
      // 2-core machine, scheduling noise alone can exceed it.
      expect(elapsed).toBeGreaterThanOrEqual(790);
      expect(lag.max / 1e6).toBeLessThan(400);
      expect(server.serve.service.admission.running).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('reports a local brick that cannot load, on /readyz and through `ready`', async () => {
    const server = await start(join(directory, 'missing-brick'));
    try {
      await expect(server.serve.ready).rejects.toThrow(/no brick directory exists at .*missing-brick/);
      const response = await fetch(`${server.url}/readyz`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { status: string }).status).toBe('failed');
    } finally {
      await server.close();
    }
  });
});
