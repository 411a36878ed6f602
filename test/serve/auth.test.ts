/**
 * The API key cannot be skipped: every route needs it unless it is public (/healthz, /readyz,
 * /metrics with `publicMetrics`), whatever request target reaches the router. Driven over a
 * raw socket, because a URL library would normalise the targets under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './raw-http.js';
import { startTestServer, type TestServer } from './serve-harness.js';

const key = 'sk-auth-test-key-0123456789';
const question = 'Which was founded first, Plinsteford or Plixhio?';
const chatBody = JSON.stringify({ model: 'ref', messages: [{ role: 'user', content: question }] });
const json = { 'content-type': 'application/json' };

/** Request targets that reach (or would have reached) a /v1 route without starting with "/v1/". */
const sneakyTargets = [
  '/%761/chat/completions',
  '/%76%31/chat/completions',
  '/v1%2Fchat/completions',
  '/V1/chat/completions',
  '//v1/chat/completions',
  '/v1//chat/completions',
  '/./v1/chat/completions',
  '/v1/../v1/chat/completions',
  '/x/../v1/chat/completions',
  '/v1/./chat/completions',
  'http://x/v1/chat/completions',
  'http://127.0.0.1/v1/chat/completions',
  'HTTP://x/v1/chat/completions',
  '/v1/chat/completions/',
  '/v1/chat/completions;x',
  '/v1/chat%2Fcompletions',
  '*',
];

describe('serve auth', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      chains: [{ name: 'ref', decomposer: 'reference', solver: 'reference', mode: 'static' }],
      apiKeys: [key],
    });
  });
  afterAll(async () => server.close());

  it('runs no chain for any request target without a key', async () => {
    for (const target of sneakyTargets) {
      const response = await rawRequest(server.url, 'POST', target, { headers: json, body: chatBody });
      expect([400, 401, 404], `POST ${target} answered ${response.status}`).toContain(response.status);
      expect(response.body, `POST ${target}`).not.toContain('Plixhio');
      const body = JSON.parse(response.body) as { error: { type: string; message: string } };
      expect(body.error.message.length).toBeGreaterThan(5);
    }
    const models = ['/%761/models', 'http://x/v1/models', '//v1/models', '/v1/../v1/models', '/V1/models'];
    for (const target of models) {
      const response = await rawRequest(server.url, 'GET', target);
      expect([400, 401, 404], `GET ${target} answered ${response.status}`).toContain(response.status);
      expect(response.body, `GET ${target}`).not.toContain('"ref"');
    }
    // Other methods on a keyed route: HEAD (Fastify adds it for GET routes), OPTIONS.
    expect((await rawRequest(server.url, 'HEAD', '/v1/models')).status).toBe(401);
    expect((await rawRequest(server.url, 'OPTIONS', '/v1/models')).status).toBe(401);
  });

  it('refuses absolute-form, escaped and non-normalised targets with a 400 in OpenAI form', async () => {
    for (const target of [
      '/%761/models',
      'http://x/v1/models',
      '//v1/models',
      '/./v1/models',
      '/a/../v1/models',
    ]) {
      const response = await rawRequest(server.url, 'GET', target, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(response.status, target).toBe(400);
      const body = JSON.parse(response.body) as { error: { type: string; code: string } };
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request_target' });
    }
  });

  it('needs the key on unknown routes too (deny by default), and names no route to a stranger', async () => {
    const unknown = await rawRequest(server.url, 'GET', '/v2/secrets');
    expect(unknown.status).toBe(401);
    const keyed = await rawRequest(server.url, 'GET', '/v2/secrets', {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(keyed.status).toBe(404);
  });

  it('serves the plain target with the key, and the probes without one', async () => {
    const keyed = await rawRequest(server.url, 'POST', '/v1/chat/completions', {
      headers: { ...json, authorization: `Bearer ${key}` },
      body: chatBody,
    });
    expect(keyed.status).toBe(200);
    expect(keyed.body).toContain('Plixhio');
    const query = await rawRequest(server.url, 'GET', '/v1/models?limit=5', {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(query.status).toBe(200);
    expect((await rawRequest(server.url, 'GET', '/healthz')).status).toBe(200);
    expect((await rawRequest(server.url, 'GET', '/readyz')).status).toBe(200);
  });

  it('needs the key for /metrics by default (it names the chains)', async () => {
    const open = await rawRequest(server.url, 'GET', '/metrics');
    expect(open.status).toBe(401);
    expect(open.body).not.toContain('dnc_');
    const keyed = await rawRequest(server.url, 'GET', '/metrics', {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(keyed.status).toBe(200);
    expect(keyed.body).toContain('dnc_http_requests_total');
  });

  it('serves /metrics without a key when the config says publicMetrics, and nothing else', async () => {
    const open = await startTestServer({
      chains: [{ name: 'ref', solver: 'reference', mode: 'single' }],
      apiKeys: [key],
      publicMetrics: true,
    });
    try {
      expect((await rawRequest(open.url, 'GET', '/metrics')).status).toBe(200);
      expect((await rawRequest(open.url, 'GET', '/v1/models')).status).toBe(401);
    } finally {
      await open.close();
    }
  });
});
