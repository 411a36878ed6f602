/**
 * Overload and deadlines: beyond `concurrency` running and `queueSize` waiting, requests get
 * 429 with `retry-after` at once (counted once in the metrics), every accepted request
 * completes, and nothing hangs; `retry-after` follows the asking chain's own run time; a chain
 * past the per-request deadline gets 504 in every brick placement (main thread and worker
 * pool); the server keeps serving afterwards. No test waits a fixed time: each waits for the
 * state it needs.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { referenceBrickLoader } from '../../src/runtime/bricks/reference-brick.js';
import { Gate, slowRemoteLoader, startTestServer, type TestServer } from './serve-harness.js';

const question = 'Which was founded first, Plinsteford or Plixhio?';
const busyLoaderModule = new URL('./busy-brick-loader.ts', import.meta.url).href;
/** A local brick directory whose every call blocks its worker thread for 1.5 s (busy-brick-loader.ts). */
const busyDirectory = mkdtempSync(join(tmpdir(), 'dnc-serve-queue-'));
const busyBrick = join(busyDirectory, 'busy-1500ms');
mkdirSync(busyBrick);
afterAll(() => rmSync(busyDirectory, { recursive: true, force: true }));

function chat(server: TestServer, body: Record<string, unknown> = {}) {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: question }], ...body }),
    signal: AbortSignal.timeout(15_000),
  });
}

/** Waits until the admission queue holds `count` requests (running or waiting). */
async function untilAdmitted(server: TestServer, count: number): Promise<void> {
  const admission = server.serve.service.admission;
  await vi.waitFor(() => expect(admission.running + admission.waiting).toBe(count), {
    timeout: 10_000,
    interval: 5,
  });
}

describe('bounded queue and deadlines', () => {
  let server: TestServer | undefined;
  afterEach(async () => server?.close());

  it('answers 429 with retry-after beyond concurrency + queue, and completes every accepted request', async () => {
    // The brick calls wait at a closed gate, so the 12 requests overlap however slowly they arrive.
    const gate = new Gate();
    gate.close();
    server = await startTestServer(
      {
        chains: [{ name: 'slow', decomposer: 'openai:slow', solver: 'openai:slow', mode: 'static' }],
        limits: { concurrency: 2, queueSize: 3 },
      },
      { loadOptions: { loaders: [slowRemoteLoader(100, gate)] } },
    );
    // Refusals are counted by status: a streamed request that was admitted answers its headers
    // (200) at once, before its chain runs, so "answered" would count some admitted ones too.
    let refusedSoFar = 0;
    const pending = Array.from({ length: 12 }, (_, index) =>
      chat(server as TestServer, { stream: index % 2 === 0 }).then((response) => {
        if (response.status === 429) refusedSoFar += 1;
        return response;
      }),
    );
    // 5 admitted (2 running, 3 waiting) hold at the gate; the 7 others are refused at once.
    await vi.waitFor(() => expect(refusedSoFar).toBe(7), { timeout: 10_000, interval: 5 });
    await untilAdmitted(server, 5);
    gate.open();
    const responses = await Promise.all(pending);
    const accepted = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status === 429);
    expect(accepted).toHaveLength(5);
    expect(refused).toHaveLength(7);
    for (const response of refused) {
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = (await response.json()) as { error: { type: string; code: string } };
      expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'queue_full' });
    }
    for (const response of accepted) {
      const text = await response.text();
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        expect(text).toContain('The answer is: Plixhio');
        expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      } else
        expect(
          (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
        ).toBe('Plixhio');
    }
    expect(server.serve.service.admission.running).toBe(0);
    expect(server.serve.service.admission.waiting).toBe(0);
    // The openai client sees the 429 as a RateLimitError; afterwards the server serves again.
    gate.close();
    const blockers = [chat(server), chat(server), chat(server), chat(server), chat(server)];
    await untilAdmitted(server, 5);
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'x', maxRetries: 0 });
    await expect(
      client.chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: question }] }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    gate.open();
    expect((await Promise.all(blockers)).map((response) => response.status)).toEqual([
      200, 200, 200, 200, 200,
    ]);
    const after = await chat(server);
    expect(after.status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /dnc_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="429"\} 8\n/,
    );
    // Each 429 is one error, not two (the refusal used to be counted where it was raised too).
    expect(metrics).toMatch(/dnc_errors_total\{type="queue_full"\} 8\n/);
  });

  it("gives each chain its own retry-after: fast traffic on one chain does not shorten a slow chain's", async () => {
    // The slow chain makes 4 brick calls of 300 ms: about 1.2 s a run, so its retry-after is ≥ 2.
    // Its later run waits at a closed gate, so it still runs when the refused requests arrive.
    const gate = new Gate();
    server = await startTestServer(
      {
        chains: [
          { name: 'slow', decomposer: 'openai:slow', solver: 'openai:slow', mode: 'static' },
          { name: 'fast', decomposer: 'reference', solver: 'reference', mode: 'static' },
        ],
        limits: { concurrency: 1, queueSize: 0 },
      },
      { loadOptions: { loaders: [slowRemoteLoader(300, gate), referenceBrickLoader] } },
    );
    expect((await chat(server)).status).toBe(200);
    for (let index = 0; index < 10; index += 1)
      expect((await chat(server, { model: 'fast' })).status).toBe(200);
    gate.close();
    const blocker = chat(server);
    await untilAdmitted(server, 1);
    const slowRefusal = await chat(server);
    const fastRefusal = await chat(server, { model: 'fast' });
    expect(slowRefusal.status).toBe(429);
    expect(fastRefusal.status).toBe(429);
    expect(Number(slowRefusal.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);
    expect(Number(fastRefusal.headers.get('retry-after'))).toBe(1);
    gate.open();
    expect((await blocker).status).toBe(200);
  });

  it('answers 504 when a main-thread (remote) brick passes the per-request deadline, then serves again', async () => {
    server = await startTestServer(
      {
        chains: [{ name: 'slow', decomposer: 'openai:slow', solver: 'openai:slow', mode: 'static' }],
        limits: { timeoutMs: 150 },
      },
      { loadOptions: { loaders: [slowRemoteLoader(100)] } },
    );
    expect(server.serve.readiness.placements).toEqual({ 'openai:slow': 'main' });
    const response = await chat(server);
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'timeout_error', code: 'timeout' });
    const streamed = await (await chat(server, { stream: true })).text();
    expect(streamed).toContain('"type":"timeout_error"');
    expect(streamed.trimEnd().endsWith('data: [DONE]')).toBe(true);
    // The cancelled chains stop at their next brick call and release their slots.
    await untilAdmitted(server, 0);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    // The streamed 504 is counted as a 504 and as a timeout error, not as a 200.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /dnc_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="504"\} 2\n/,
    );
    expect(metrics).not.toMatch(/route="\/v1\/chat\/completions",method="POST",status="200"/);
    expect(metrics).toMatch(/dnc_errors_total\{type="timeout"\} 2\n/);
  });

  it('answers 504 when a worker-pool brick blocks its thread past the deadline, and /healthz answers meanwhile', async () => {
    // Every call of this brick blocks its worker thread for 1.5 s (a synchronous model run).
    server = await startTestServer(
      {
        chains: [{ name: 'slow', decomposer: busyBrick, solver: 'reference', mode: 'static' }],
        limits: { timeoutMs: 300 },
        workers: { threads: 1 },
      },
      { workerLoaderModules: [busyLoaderModule] },
    );
    expect(server.serve.readiness.placements).toEqual({ [busyBrick]: 'worker', reference: 'worker' });
    const pending = chat(server);
    await untilAdmitted(server, 1);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const response = await pending;
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('timeout');
  });
});
