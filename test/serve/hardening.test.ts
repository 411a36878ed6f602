/**
 * The limits, logs and metrics hold against a hostile or unlucky client: no credential in
 * the request log whatever header or query parameter carries it; a request whose body stalls
 * gets 408; Node's own 400/408/431 replies are in OpenAI's error shape; a client that goes
 * away is still counted; an over-long question gets 400 naming the limit; a non-JSON body 415;
 * `tools: []` and unknown `/v1/decompose` fields are accepted; a 502 names no upstream address.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Brick } from '../../src/runtime/bricks/brick.js';
import type { BrickLoader } from '../../src/runtime/bricks/registry.js';
import { openSocket, rawRequest, readUntilClose } from './raw-http.js';
import { Gate, slowRemoteLoader, startTestServer, type TestServer } from './serve-harness.js';

const question = 'Which was founded first, Plinsteford or Plixhio?';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An `openai:` brick whose every call fails with a message naming its upstream. */
const failingRemoteLoader: BrickLoader = {
  kind: 'openai',
  load: async (spec) => {
    const fail = async (): Promise<never> => {
      throw new Error(
        'connect ECONNREFUSED 10.1.2.3:8443 calling https://internal.example.com/v1/chat/completions',
      );
    };
    const brick: Brick = {
      specificationVersion: 'v1',
      spec: spec.spec,
      kind: 'openai',
      model: 'failing',
      solve: fail,
    };
    return brick;
  },
};

describe('serve hardening', () => {
  let server: TestServer;
  const gate = new Gate();

  beforeAll(async () => {
    server = await startTestServer(
      {
        chains: [
          { name: 'ref', decomposer: 'reference', solver: 'reference', mode: 'static' },
          { name: 'slow', solver: 'openai:slow', mode: 'single' },
        ],
        limits: { questionChars: 200, receiveTimeoutMs: 300 },
      },
      { loadOptions: { loaders: [slowRemoteLoader(300, gate)] } },
    );
  });
  afterAll(async () => server.close());

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as ErrorBody };
  }

  it('logs no credential, whichever header or query parameter carries it', async () => {
    const secrets = {
      'api-key': 'secret-api-key-header-1',
      'x-api-key': 'secret-x-api-key-header-2',
      'proxy-authorization': 'Basic secret-proxy-3',
      cookie: 'session=secret-cookie-4',
      'x-auth-token': 'secret-auth-token-5',
    };
    await fetch(`${server.url}/v1/models?limit=7&api_key=secret-query-6`, { headers: secrets });
    await fetch(`${server.url}/v1/models?key=secret-query-7&token=secret-query-8`);
    await fetch(`${server.url}/v1/models?access_token=secret-query-9&apiKey=secret-query-10`);
    const logs = server.logs();
    for (const secret of [...Object.values(secrets), 'secret-query-6', 'secret-query-7', 'secret-query-8'])
      expect(logs).not.toContain(secret);
    expect(logs).not.toContain('secret-query-9');
    expect(logs).not.toContain('secret-query-10');
    expect(logs).toContain('limit=7');
    expect(logs).toContain('api_key=[redacted]');
  });

  it('answers 408 in OpenAI form to a request whose body stops half-way', async () => {
    const socket = await openSocket(server.url);
    const reply = readUntilClose(socket);
    socket.write(
      'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
        'content-length: 100\r\n\r\n{"model":',
    );
    const response = await reply;
    expect(response.status).toBe(408);
    const body = JSON.parse(response.body) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'request_timeout' });
    expect(body.error.message).toContain('limits.receiveTimeoutMs');
  });

  it("answers Node's own 400 and 431 in OpenAI form", async () => {
    const socket = await openSocket(server.url);
    const reply = readUntilClose(socket);
    socket.write('NOT AN HTTP REQUEST\r\n\r\n');
    const malformed = await reply;
    expect(malformed.status).toBe(400);
    expect((JSON.parse(malformed.body) as ErrorBody).error.code).toBe('bad_request');
    const large = await rawRequest(server.url, 'GET', '/healthz', {
      headers: { 'x-large': 'a'.repeat(20_000) },
    });
    expect(large.status).toBe(431);
    expect((JSON.parse(large.body) as ErrorBody).error.type).toBe('invalid_request_error');
  });

  it('counts a request whose client went away (as 499)', async () => {
    // The slow brick's call waits at the closed gate until the client has gone.
    gate.close();
    const controller = new AbortController();
    const pending = fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: question }] }),
      signal: controller.signal,
    }).catch(() => 'aborted');
    const admission = server.serve.service.admission;
    await vi.waitFor(() => expect(admission.running).toBe(1), { timeout: 5_000, interval: 5 });
    controller.abort();
    expect(await pending).toBe('aborted');
    gate.open();
    await vi.waitFor(
      async () =>
        expect(await server.serve.metrics.text()).toMatch(
          /dnc_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="499"\} 1\n/,
        ),
      { timeout: 5_000, interval: 20 },
    );
  });

  it('answers 400 naming limits.questionChars to an over-long question or context', async () => {
    const long = `Do ${'x and '.repeat(40)}y`;
    const chat = await post('/v1/chat/completions', {
      model: 'ref',
      messages: [{ role: 'user', content: long }],
    });
    expect(chat.status).toBe(400);
    expect(chat.body.error).toMatchObject({ param: 'messages', code: 'question_too_long' });
    expect(chat.body.error.message).toContain('limits.questionChars');
    expect(chat.body.error.message).toContain('200');
    const decompose = await post('/v1/decompose', { model: 'ref', question: long });
    expect(decompose.status).toBe(400);
    expect(decompose.body.error.param).toBe('question');
    const context = await post('/v1/decompose', { model: 'ref', question, context: 'c'.repeat(201) });
    expect(context.body.error.param).toBe('context');
  });

  it('answers 415 to a body that is not JSON, whatever its content type', async () => {
    const body = JSON.stringify({ model: 'ref', messages: [{ role: 'user', content: question }] });
    const plain = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body,
    });
    const missing = await rawRequest(server.url, 'POST', '/v1/chat/completions', { body });
    for (const [status, error] of [
      [plain.status, ((await plain.json()) as ErrorBody).error],
      [missing.status, (JSON.parse(missing.body) as ErrorBody).error],
    ] as const) {
      expect(status).toBe(415);
      expect(error.code).toBe('unsupported_media_type');
      expect(error.message).toContain('application/json');
    }
  });

  it('accepts tools: [] and unknown fields on /v1/decompose, and still refuses real tools', async () => {
    const empty = await post('/v1/chat/completions', {
      model: 'ref',
      tools: [],
      messages: [{ role: 'user', content: question }],
    });
    expect(empty.status).toBe(200);
    const tools = await post('/v1/chat/completions', {
      model: 'ref',
      tools: [{ type: 'function', function: { name: 'f' } }],
      messages: [{ role: 'user', content: question }],
    });
    expect(tools.status).toBe(400);
    expect(tools.body.error.param).toBe('tools');
    const decompose = await post('/v1/decompose', { model: 'ref', question, user: 'someone', metadata: {} });
    expect(decompose.status).toBe(200);
  });

  it('names no upstream address in a 502', async () => {
    const failing = await startTestServer(
      { chains: [{ name: 'remote', solver: 'openai:failing', mode: 'single' }] },
      { loadOptions: { loaders: [failingRemoteLoader] } },
    );
    try {
      const response = await fetch(`${failing.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'remote', messages: [{ role: 'user', content: question }] }),
      });
      expect(response.status).toBe(502);
      const error = ((await response.json()) as ErrorBody).error;
      expect(error.code).toBe('brick_error');
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).not.toMatch(/10\.1\.2\.3|internal\.example\.com|8443/);
      expect(failing.logs()).toContain('internal.example.com');
    } finally {
      await failing.close();
    }
  });
});
