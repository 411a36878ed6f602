/**
 * Overload and deadlines: beyond `concurrency` running and `queueSize` waiting, requests get
 * 429 with `retry-after` at once, every accepted request completes, and nothing hangs; a
 * chain past the per-request deadline gets 504; the server keeps serving afterwards.
 */
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { slowReferenceLoader, startTestServer, type TestServer } from './serve-harness.js';

const question = 'Which was founded first, Plinsteford or Plixhio?';

function chat(server: TestServer, body: Record<string, unknown> = {}) {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: question }], ...body }),
    signal: AbortSignal.timeout(15_000),
  });
}

describe('bounded queue and deadlines', () => {
  let server: TestServer | undefined;
  afterEach(async () => server?.close());

  it('answers 429 with retry-after beyond concurrency + queue, and completes every accepted request', async () => {
    // 4 brick calls per chain × 100 ms: each chain takes ≥ 400 ms, so the 12 requests overlap.
    server = await startTestServer(
      {
        chains: [{ name: 'slow', decomposer: 'reference', solver: 'reference', mode: 'static' }],
        limits: { concurrency: 2, queueSize: 3 },
      },
      { loadOptions: { loaders: [slowReferenceLoader(100)] } },
    );
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, index) => chat(server as TestServer, { stream: index % 2 === 0 })),
    );
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
    const blockers = [chat(server), chat(server), chat(server), chat(server), chat(server)];
    const admission = server.serve.service.admission;
    while (admission.running + admission.waiting < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'x', maxRetries: 0 });
    await expect(
      client.chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: question }] }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    expect((await Promise.all(blockers)).map((response) => response.status)).toEqual([
      200, 200, 200, 200, 200,
    ]);
    const after = await chat(server);
    expect(after.status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /dnc_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="429"\} 8/,
    );
  });

  it('answers 504 when a chain passes the per-request deadline, then serves again', async () => {
    server = await startTestServer(
      {
        chains: [{ name: 'slow', decomposer: 'reference', solver: 'reference', mode: 'static' }],
        limits: { timeoutMs: 150 },
      },
      { loadOptions: { loaders: [slowReferenceLoader(100)] } },
    );
    const startedAt = performance.now();
    const response = await chat(server);
    expect(response.status).toBe(504);
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    const body = (await response.json()) as { error: { type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'timeout_error', code: 'timeout' });
    const streamed = await (await chat(server, { stream: true })).text();
    expect(streamed).toContain('"type":"timeout_error"');
    expect(streamed.trimEnd().endsWith('data: [DONE]')).toBe(true);
    // The cancelled chains stop at their next brick call and release their slots.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(server.serve.service.admission.running).toBe(0);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});
