/**
 * Local bricks run in the worker pool: a brick directory spec (kind `onnx`) is routed to the
 * workers automatically, and so is `reference` (it parses text: CPU work); while every worker is
 * blocked inside a brick call, the server's event loop still turns and answers; `/readyz` is 503
 * until the workers have loaded their bricks, and a brick that cannot load is reported. No test
 * here times anything: the gated brick (gated-brick-loader.ts) says through files when its calls
 * have started, and the test says through a file when they may finish.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from './serve-harness.js';

const gatedLoaders = new URL('./gated-brick-loader.ts', import.meta.url).href;
const busyLoaders = new URL('./busy-brick-loader.ts', import.meta.url).href;
const question = 'Which was founded first, Plinsteford or Plixhio?';

/** The threads of the gated brick's calls that have started, in order. */
function startedThreads(brick: string): number[] {
  const file = join(brick, 'started');
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(/started (\d+)/g)].map((match) => Number(match[1]));
}

/** Resolves after `count` turns of the event loop (each a fresh macrotask). */
async function eventLoopTurns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('worker pool for local bricks', () => {
  let directory: string;
  let gatedBrick: string;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'dnc-serve-'));
    gatedBrick = join(directory, 'gated');
    mkdirSync(gatedBrick);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  async function start(decomposer: string, loaders: string): Promise<TestServer> {
    return startTestServer(
      {
        chains: [{ name: 'local/ref', decomposer, solver: 'reference', mode: 'static' }],
        workers: { threads: 2 },
        limits: { concurrency: 8 },
      },
      { workerLoaderModules: [loaders], waitReady: false },
    );
  }

  const chat = (server: TestServer) =>
    fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local/ref', messages: [{ role: 'user', content: question }] }),
    });

  it('is 503 on /readyz until the workers have loaded, then routes the local brick to them', async () => {
    const server = await start(gatedBrick, gatedLoaders);
    try {
      // The gated brick cannot load before the test writes `loadable`.
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await chat(server)).status).toBe(503);
      writeFileSync(join(gatedBrick, 'loadable'), '');
      await server.serve.ready;
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(server.serve.readiness.placements).toEqual({ [gatedBrick]: 'worker', reference: 'worker' });

      const responses = Array.from({ length: 4 }, () =>
        chat(server).then(
          (response) =>
            response.json() as Promise<{
              choices: { message: { content: string } }[];
              dnc: { warnings: string[] };
            }>,
        ),
      );
      // Both workers are now blocked inside a decomposition, on two threads.
      await vi.waitFor(() => expect(startedThreads(gatedBrick)).toHaveLength(2), {
        timeout: 30_000,
        interval: 5,
      });
      expect(new Set(startedThreads(gatedBrick)).size).toBe(2);
      // Meanwhile the main thread's event loop turns and the server answers (a brick call on the
      // main thread would hold it until the release below, which only this thread writes).
      await eventLoopTurns(10);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(startedThreads(gatedBrick)).toHaveLength(2);
      writeFileSync(join(gatedBrick, 'release'), '');

      for (const body of await Promise.all(responses)) {
        expect(body.choices[0]?.message.content).toBe('Plixhio');
        const thread = /released on thread (\d+)/.exec(body.dnc.warnings.join('\n'))?.[1];
        expect(Number(thread)).toBeGreaterThan(0);
      }
      expect(startedThreads(gatedBrick)).toHaveLength(4);
      expect(server.serve.service.admission.running).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('reports a local brick that cannot load, on /readyz and through `ready`', async () => {
    const server = await start(join(directory, 'missing-brick'), busyLoaders);
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
