/**
 * Bad requests get the right 4xx with an OpenAI-style error body, the server keeps serving,
 * and no log line ever carries the Authorization header.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './serve-harness.js';

const key = 'sk-test-serve-key-0123456789';
const question = 'Which was founded first, Plinsteford or Plixhio?';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('serve error handling', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      chains: [
        { name: 'ref/ref', decomposer: 'reference', solver: 'reference', mode: 'static' },
        { name: 'ref-only', solver: 'reference', mode: 'single' },
      ],
      apiKeys: ['another-key-abcdefgh', key],
      limits: { bodyBytes: 4096, maxTokens: 1000, maxSubquestions: 6 },
    });
  });
  afterAll(async () => server.close());

  async function post(path: string, body: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
      body,
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as ErrorBody };
  }

  function expectError(body: ErrorBody, type: string, param?: string) {
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.type).toBe(type);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(10);
    if (param !== undefined) expect(body.error.param).toBe(param);
  }

  async function expectStillServing() {
    const { status, body } = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'ref/ref', messages: [{ role: 'user', content: question }] }),
    );
    expect(status).toBe(200);
    expect(
      (body as unknown as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
    ).toBe('Plixhio');
  }

  it('answers 400 invalid_json to a malformed JSON body', async () => {
    const { status, body } = await post('/v1/chat/completions', '{"model": "ref/ref", "messages": [');
    expect(status).toBe(400);
    expectError(body, 'invalid_request_error');
    expect(body.error.code).toBe('invalid_json');
    await expectStillServing();
  });

  it('answers 400 naming the field when a field has the wrong type', async () => {
    const messages = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'ref/ref', messages: 'hello' }),
    );
    expect(messages.status).toBe(400);
    expectError(messages.body, 'invalid_request_error', 'messages');
    const model = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 7, messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(model.status).toBe(400);
    expectError(model.body, 'invalid_request_error', 'model');
    const role = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'ref/ref', messages: [{ role: 'wizard', content: 'hi' }] }),
    );
    expect(role.status).toBe(400);
    expectError(role.body, 'invalid_request_error', 'messages.0.role');
    const decompose = await post('/v1/decompose', JSON.stringify({ model: 'ref/ref', question: 12 }));
    expect(decompose.status).toBe(400);
    expectError(decompose.body, 'invalid_request_error', 'question');
    await expectStillServing();
  });

  it('answers 400 to max_tokens above the limit and to a request without a user message', async () => {
    const tokens = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'ref/ref', max_tokens: 5000, messages: [{ role: 'user', content: question }] }),
    );
    expect(tokens.status).toBe(400);
    expectError(tokens.body, 'invalid_request_error', 'max_tokens');
    const negative = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'ref/ref', max_tokens: -3, messages: [{ role: 'user', content: question }] }),
    );
    expectError(negative.body, 'invalid_request_error', 'max_tokens');
    const noUser = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'ref/ref', messages: [{ role: 'system', content: 'x' }] }),
    );
    expect(noUser.status).toBe(400);
    expectError(noUser.body, 'invalid_request_error', 'messages');
    const cap = await post(
      '/v1/decompose',
      JSON.stringify({ model: 'ref/ref', question, max_subquestions: 50 }),
    );
    expect(cap.status).toBe(400);
    expectError(cap.body, 'invalid_request_error', 'max_subquestions');
  });

  it('answers 404 model_not_found to an unknown model, and 400 to decomposing with a single chain', async () => {
    const { status, body } = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'gpt-9', messages: [{ role: 'user', content: question }] }),
    );
    expect(status).toBe(404);
    expectError(body, 'invalid_request_error', 'model');
    expect(body.error.code).toBe('model_not_found');
    expect(body.error.message).toContain("'ref/ref'");
    const single = await post('/v1/decompose', JSON.stringify({ model: 'ref-only', question }));
    expect(single.status).toBe(400);
    expect(single.body.error.code).toBe('no_decomposer');
    const route = await post('/v1/embeddings', JSON.stringify({ model: 'ref/ref', input: 'x' }));
    expect(route.status).toBe(404);
    expectError(route.body, 'invalid_request_error');
    await expectStillServing();
  });

  it('answers 413 to a body over the size limit', async () => {
    const big = JSON.stringify({
      model: 'ref/ref',
      messages: [{ role: 'user', content: 'x'.repeat(10_000) }],
    });
    const { status, body } = await post('/v1/chat/completions', big);
    expect(status).toBe(413);
    expectError(body, 'invalid_request_error');
    expect(body.error.code).toBe('request_too_large');
    await expectStillServing();
  });

  it('answers 401 to a missing or wrong key, also through the openai client', async () => {
    const good = JSON.stringify({ model: 'ref/ref', messages: [{ role: 'user', content: question }] });
    const missing = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: good,
    });
    expect(missing.status).toBe(401);
    const missingBody = (await missing.json()) as ErrorBody;
    expectError(missingBody, 'authentication_error');
    expect(missingBody.error.code).toBe('missing_api_key');
    const wrong = await post('/v1/chat/completions', good, {
      authorization: 'Bearer sk-test-serve-key-0123456788',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_api_key');
    const shorter = await post('/v1/chat/completions', good, { authorization: 'Bearer sk' });
    expect(shorter.status).toBe(401);
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'wrong-key-secret-value', maxRetries: 0 });
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const keyed = new OpenAI({ baseURL: server.baseURL, apiKey: key, maxRetries: 0 });
    expect((await keyed.models.list()).data).toHaveLength(2);
    // Probes and metrics stay open for orchestrators.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    await expectStillServing();
  });

  it('never logs the Authorization header, while logging the other request headers', async () => {
    await post('/v1/chat/completions', '{', { 'user-agent': 'log-probe/1.0' });
    await post('/v1/chat/completions', '{}', { authorization: 'Bearer wrong-key-secret-value' });
    const logs = server.logs();
    expect(logs).toContain('log-probe/1.0');
    expect(logs).toContain('[redacted]');
    expect(logs).not.toContain(key);
    expect(logs).not.toContain('wrong-key-secret-value');
  });

  it('counts requests by route and status in the Prometheus metrics', async () => {
    const text = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })
    ).text();
    expect(text).toMatch(
      /dnc_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="401"\} [1-9]/,
    );
    expect(text).toMatch(
      /dnc_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} [1-9]/,
    );
    expect(text).toMatch(/dnc_brick_cost_usd_total\{brick="reference",stage="solve"\} 0\.\d+/);
    expect(text).toMatch(/dnc_errors_total\{type="invalid_json"\} [1-9]/);
    expect(text).toContain('dnc_queue_depth 0');
    expect(text).toContain('dnc_http_request_duration_seconds_bucket');
  });
});
