/**
 * A scriptable OpenAI-compatible server on 127.0.0.1 (random port) for offline tests.
 *
 *   const server = await startFakeOpenAIServer({ answer: answerFromGold(examples), latencyMs: 5 });
 *   const teacher = new OpenAITeacher({ model: 'gpt-4o-mini', baseURL: server.url, apiKey: 'test' });
 *   ...
 *   expect(server.chatRequests).toHaveLength(10);
 *   await server.close();
 *
 * Endpoints: `POST /v1/chat/completions`, `POST /v1/files` (multipart), `GET /v1/files/:id/content`,
 * `POST /v1/batches`, `GET /v1/batches/:id`. Every chat request is recorded (`chatRequests`),
 * and its reply is decided by `script` (a behaviour: rate limit, server error, slow, malformed
 * body, explicit content, any status) or, by default, by `answer` (the content to send back).
 * Batches run their lines through the same `answer`/`script` and complete after
 * `batchPollsUntilComplete` retrieves.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChatMessage, Example } from '../../src/data/schemas.js';
import { renderDecomposition, renderSolution } from '../../src/prompts/index.js';

export interface FakeChatRequest {
  /** 0-based index over all chat requests this server received (batch lines excluded). */
  index: number;
  /** True for a line of a batch rather than a direct HTTP request. */
  viaBatch: boolean;
  body: Record<string, unknown>;
  model: string;
  messages: ChatMessage[];
  /** True when the request asked for `response_format: { type: 'json_schema' }`. */
  structured: boolean;
  /** 'decompose' | 'solve' | 'next-subquestion' | 'other', guessed from the system prompt. */
  kind: 'decompose' | 'solve' | 'next-subquestion' | 'other';
  /** The `Question: ...` of the user message. */
  question: string;
  /** For a solve prompt: the numbered sub-questions it lists. */
  subquestions: string[];
  /** How many earlier requests carried exactly the same messages (0 for the first). */
  attempt: number;
}

export type FakeBehaviour =
  | { kind: 'answer' }
  | { kind: 'content'; content: string; finishReason?: string }
  | { kind: 'rate-limit'; retryAfterSeconds?: number; retryAfterMs?: number; retryAfterDate?: string }
  | { kind: 'server-error'; status?: number }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'malformed-json' }
  | { kind: 'status'; status: number; message?: string };

export interface FakeOpenAIServerOptions {
  /** The content of a normal answer. Default: "No decomposition." / "The answer is: 0". */
  answer?: (request: FakeChatRequest) => string;
  /** The behaviour for one request; undefined means a normal answer. */
  script?: (request: FakeChatRequest) => FakeBehaviour | undefined;
  /** Added before every direct reply. */
  latencyMs?: number;
  /** False: a request with a json_schema response format gets HTTP 400 (like many local servers). */
  supportsStructuredOutput?: boolean;
  /** Retrieves of a batch before it reports `completed` (default 1). */
  batchPollsUntilComplete?: number;
}

export interface FakeOpenAIServer {
  /** Base URL including `/v1`, for `OPENAI_BASE_URL` or the client's `baseURL`. */
  url: string;
  chatRequests: FakeChatRequest[];
  /** Every HTTP request as `METHOD /path`. */
  httpRequests: string[];
  files: Map<string, { purpose: string; content: string }>;
  batches: Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}

const lengthOf = (text: string): number => Math.ceil(text.length / 4);

function classify(messages: ChatMessage[]): Pick<FakeChatRequest, 'kind' | 'question' | 'subquestions'> {
  const system = messages.find((message) => message.role === 'system')?.content ?? '';
  const user = messages.filter((message) => message.role === 'user').at(-1)?.content ?? '';
  const kind = system.includes('one at a time')
    ? 'next-subquestion'
    : system.startsWith('You break a question')
      ? 'decompose'
      : system.startsWith('You answer a question')
        ? 'solve'
        : 'other';
  const question = /^Question: (.*)$/m.exec(user)?.[1] ?? '';
  const listed = /Sub-questions:\n([\s\S]*)$/.exec(user)?.[1] ?? '';
  const subquestions = [...listed.matchAll(/^\d+\. (.*)$/gm)].map((match) => match[1] ?? '');
  return { kind, question, subquestions };
}

/** Answers decompose and solve prompts from the examples' gold decompositions (JSON when structured). */
export function answerFromGold(examples: readonly Example[]): (request: FakeChatRequest) => string {
  const byQuestion = new Map(examples.map((example) => [example.question, example]));
  return (request) => {
    const example = byQuestion.get(request.question);
    if (example === undefined)
      return request.kind === 'solve' ? 'The answer is: unknown' : 'No decomposition.';
    const subquestions = example.gold?.subquestions ?? [];
    if (request.kind === 'solve') {
      const subanswers = request.subquestions.map((_, index) => example.gold?.subanswers?.[index] ?? '?');
      return request.structured
        ? JSON.stringify({ subanswers, answer: example.answer })
        : renderSolution(subanswers, example.answer);
    }
    return request.structured ? JSON.stringify({ subquestions }) : renderDecomposition(subquestions);
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendJson(
  response: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(value));
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  rawBody?: string;
  delayMs?: number;
}

export async function startFakeOpenAIServer(
  options: FakeOpenAIServerOptions = {},
): Promise<FakeOpenAIServer> {
  const chatRequests: FakeChatRequest[] = [];
  const httpRequests: string[] = [];
  const files = new Map<string, { purpose: string; content: string }>();
  const batches = new Map<string, Record<string, unknown>>();
  const polls = new Map<string, number>();
  const seen = new Map<string, number>();
  let nextId = 0;

  const chatReply = (body: Record<string, unknown>, viaBatch: boolean): Reply => {
    const messages = (body.messages ?? []) as ChatMessage[];
    const format = body.response_format as { type?: string } | undefined;
    const signature = JSON.stringify(messages);
    const attempt = seen.get(signature) ?? 0;
    seen.set(signature, attempt + 1);
    const request: FakeChatRequest = {
      index: viaBatch ? -1 : chatRequests.length,
      viaBatch,
      body,
      model: String(body.model ?? ''),
      messages,
      structured: format?.type === 'json_schema',
      ...classify(messages),
      attempt,
    };
    chatRequests.push(request);
    if (request.structured && options.supportsStructuredOutput === false) {
      return {
        status: 400,
        body: {
          error: {
            message: "response_format 'json_schema' is not supported by this server",
            type: 'invalid_request_error',
            param: 'response_format',
          },
        },
      };
    }
    const behaviour = options.script?.(request) ?? { kind: 'answer' };
    const answer = (content: string, finishReason = 'stop', delayMs = 0): Reply => ({
      status: 200,
      delayMs,
      body: {
        id: `chatcmpl-${nextId++}`,
        object: 'chat.completion',
        created: 0,
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
        usage: {
          prompt_tokens: lengthOf(messages.map((message) => message.content).join('\n')),
          completion_tokens: lengthOf(content),
          total_tokens: 0,
        },
      },
    });
    const normal = (): string =>
      options.answer?.(request) ?? (request.kind === 'solve' ? 'The answer is: 0' : 'No decomposition.');
    switch (behaviour.kind) {
      case 'answer':
        return answer(normal());
      case 'content':
        return answer(behaviour.content, behaviour.finishReason);
      case 'slow':
        return answer(normal(), 'stop', behaviour.delayMs);
      case 'malformed-json':
        return { status: 200, body: undefined, rawBody: '{"id": "chatcmpl-broken", "choices": [' };
      case 'rate-limit': {
        const headers: Record<string, string> = {};
        if (behaviour.retryAfterSeconds !== undefined)
          headers['retry-after'] = String(behaviour.retryAfterSeconds);
        if (behaviour.retryAfterMs !== undefined) headers['retry-after-ms'] = String(behaviour.retryAfterMs);
        if (behaviour.retryAfterDate !== undefined) headers['retry-after'] = behaviour.retryAfterDate;
        return {
          status: 429,
          headers,
          body: { error: { message: 'Rate limit reached', type: 'rate_limit_error' } },
        };
      }
      case 'server-error':
        return {
          status: behaviour.status ?? 500,
          body: { error: { message: 'The server had an error', type: 'server_error' } },
        };
      case 'status':
        return {
          status: behaviour.status,
          body: {
            error: {
              message: behaviour.message ?? `scripted ${behaviour.status}`,
              type: 'invalid_request_error',
            },
          },
        };
    }
  };

  const runBatch = (batch: Record<string, unknown>): void => {
    const input = files.get(String(batch.input_file_id));
    const lines = (input?.content ?? '').split('\n').filter((line) => line.trim() !== '');
    const output: string[] = [];
    for (const line of lines) {
      const item = JSON.parse(line) as { custom_id: string; body: Record<string, unknown> };
      const reply = chatReply(item.body, true);
      const body = reply.rawBody === undefined ? reply.body : reply.rawBody;
      output.push(
        JSON.stringify({
          id: `batch_req_${nextId++}`,
          custom_id: item.custom_id,
          response: { status_code: reply.status, request_id: 'fake', body },
          error: null,
        }),
      );
    }
    const outputId = `file-${nextId++}`;
    files.set(outputId, {
      purpose: 'batch_output',
      content: output.length > 0 ? `${output.join('\n')}\n` : '',
    });
    Object.assign(batch, {
      status: 'completed',
      output_file_id: outputId,
      request_counts: { total: lines.length, completed: lines.length, failed: 0 },
    });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    httpRequests.push(`${request.method} ${path}`);
    const raw = await readBody(request);
    if (request.method === 'POST' && path === '/v1/chat/completions') {
      const reply = chatReply(JSON.parse(raw.toString('utf8')) as Record<string, unknown>, false);
      const wait = (options.latencyMs ?? 0) + (reply.delayMs ?? 0);
      if (wait > 0) await delay(wait);
      if (response.destroyed) return;
      if (reply.rawBody !== undefined) {
        response.writeHead(reply.status, { 'content-type': 'application/json' });
        response.end(reply.rawBody);
        return;
      }
      sendJson(response, reply.status, reply.body, reply.headers);
      return;
    }
    if (request.method === 'POST' && path === '/v1/files') {
      const form = await new Request('http://fake/', {
        method: 'POST',
        headers: request.headers as Record<string, string>,
        body: raw,
      }).formData();
      const file = form.get('file') as File | null;
      const id = `file-${nextId++}`;
      files.set(id, {
        purpose: String(form.get('purpose')),
        content: file === null ? '' : await file.text(),
      });
      sendJson(response, 200, {
        id,
        object: 'file',
        bytes: raw.length,
        created_at: 0,
        filename: file?.name ?? 'upload',
        purpose: String(form.get('purpose')),
        status: 'processed',
      });
      return;
    }
    const content = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
    if (request.method === 'GET' && content !== null) {
      const file = files.get(content[1] ?? '');
      if (file === undefined) return sendJson(response, 404, { error: { message: 'no such file' } });
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(file.content);
      return;
    }
    if (request.method === 'POST' && path === '/v1/batches') {
      const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      const id = `batch_${nextId++}`;
      const batch = {
        id,
        object: 'batch',
        endpoint: body.endpoint,
        input_file_id: body.input_file_id,
        completion_window: body.completion_window,
        status: 'validating',
        created_at: 0,
        metadata: body.metadata ?? null,
      };
      batches.set(id, batch);
      polls.set(id, 0);
      sendJson(response, 200, batch);
      return;
    }
    const batchPath = /^\/v1\/batches\/([^/]+)$/.exec(path);
    if (request.method === 'GET' && batchPath !== null) {
      const batch = batches.get(batchPath[1] ?? '');
      if (batch === undefined) return sendJson(response, 404, { error: { message: 'no such batch' } });
      const count = (polls.get(batch.id as string) ?? 0) + 1;
      polls.set(batch.id as string, count);
      if (batch.status !== 'completed') {
        if (count >= (options.batchPollsUntilComplete ?? 1)) runBatch(batch);
        else batch.status = 'in_progress';
      }
      sendJson(response, 200, batch);
      return;
    }
    sendJson(response, 404, { error: { message: `the fake server has no ${request.method} ${path}` } });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) =>
      sendJson(response, 500, { error: { message: String(error) } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    chatRequests,
    httpRequests,
    files,
    batches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A script that plays `behaviours[n]` on the n-th request with the same messages and answers
 * normally afterwards — deterministic under concurrency, since it depends on each prompt's own attempts.
 */
export function scriptPerPrompt(
  select: (request: FakeChatRequest) => readonly FakeBehaviour[] | undefined,
): (request: FakeChatRequest) => FakeBehaviour | undefined {
  return (request) => select(request)?.[request.attempt];
}
