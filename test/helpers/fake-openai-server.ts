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
  files: Map<string, FakeFile>;
  batches: Map<string, Record<string, unknown>>;
  /**
   * Resolves once no connection is open and no request is being handled: after a client
   * process is killed, every request it had sent has been read, recorded and answered.
   */
  idle(): Promise<void>;
  /** The most requests this server was handling at once (a client's concurrency, seen from here). */
  peakRequests(): number;
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

/** A canned reply to one chat request. */
interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  rawBody?: string;
  delayMs?: number;
}

const errorBody = (message: string, type: string, param?: string) => ({
  error: { message, type, ...(param === undefined ? {} : { param }) },
});

/** The reply a scripted behaviour asks for; `answer` builds a normal completion from content. */
function behaviourReply(
  behaviour: FakeBehaviour,
  answer: (content: string, finishReason?: string, delayMs?: number) => Reply,
  normal: () => string,
): Reply {
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
      return { status: 429, headers, body: errorBody('Rate limit reached', 'rate_limit_error') };
    }
    case 'server-error':
      return { status: behaviour.status ?? 500, body: errorBody('The server had an error', 'server_error') };
    case 'status':
      return {
        status: behaviour.status,
        body: errorBody(behaviour.message ?? `scripted ${behaviour.status}`, 'invalid_request_error'),
      };
  }
}

/** A stored file; `filename` and `createdAt` are kept for listing (`GET /v1/files`). */
export interface FakeFile {
  purpose: string;
  content: string;
  filename?: string;
  createdAt?: number;
}

/** The server's state and its endpoint handlers (composed by test/helpers/fake-fine-tuning-server.ts). */
export class FakeOpenAI {
  readonly chatRequests: FakeChatRequest[] = [];
  readonly httpRequests: string[] = [];
  readonly files = new Map<string, FakeFile>();
  readonly batches = new Map<string, Record<string, unknown>>();
  private readonly polls = new Map<string, number>();
  private readonly seen = new Map<string, number>();
  private nextId = 0;

  constructor(private readonly options: FakeOpenAIServerOptions) {}

  private id(prefix: string): string {
    return `${prefix}${this.nextId++}`;
  }

  private record(body: Record<string, unknown>, viaBatch: boolean): FakeChatRequest {
    const messages = (body.messages ?? []) as ChatMessage[];
    const signature = JSON.stringify(messages);
    const attempt = this.seen.get(signature) ?? 0;
    this.seen.set(signature, attempt + 1);
    const request: FakeChatRequest = {
      index: viaBatch ? -1 : this.chatRequests.length,
      viaBatch,
      body,
      model: String(body.model ?? ''),
      messages,
      structured: (body.response_format as { type?: string } | undefined)?.type === 'json_schema',
      ...classify(messages),
      attempt,
    };
    this.chatRequests.push(request);
    return request;
  }

  chatReply(body: Record<string, unknown>, viaBatch: boolean): Reply {
    const request = this.record(body, viaBatch);
    if (request.structured && this.options.supportsStructuredOutput === false) {
      const message = "response_format 'json_schema' is not supported by this server";
      return { status: 400, body: errorBody(message, 'invalid_request_error', 'response_format') };
    }
    const promptTokens = lengthOf(request.messages.map((message) => message.content).join('\n'));
    const answer = (content: string, finishReason = 'stop', delayMs = 0): Reply => ({
      status: 200,
      delayMs,
      body: {
        id: this.id('chatcmpl-'),
        object: 'chat.completion',
        created: 0,
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
        usage: { prompt_tokens: promptTokens, completion_tokens: lengthOf(content), total_tokens: 0 },
      },
    });
    const normal = (): string =>
      this.options.answer?.(request) ?? (request.kind === 'solve' ? 'The answer is: 0' : 'No decomposition.');
    return behaviourReply(this.options.script?.(request) ?? { kind: 'answer' }, answer, normal);
  }

  async chat(raw: Buffer, response: ServerResponse): Promise<void> {
    const reply = this.chatReply(JSON.parse(raw.toString('utf8')) as Record<string, unknown>, false);
    const wait = (this.options.latencyMs ?? 0) + (reply.delayMs ?? 0);
    if (wait > 0) await delay(wait);
    if (response.destroyed) return;
    if (reply.rawBody === undefined) return sendJson(response, reply.status, reply.body, reply.headers);
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(reply.rawBody);
  }

  async upload(request: IncomingMessage, raw: Buffer, response: ServerResponse): Promise<void> {
    const headers = request.headers as Record<string, string>;
    const form = await new Request('http://fake/', { method: 'POST', headers, body: raw }).formData();
    const file = form.get('file') as File | null;
    const id = this.id('file-');
    const purpose = String(form.get('purpose'));
    this.files.set(id, { purpose, content: file === null ? '' : await file.text() });
    const filename = file?.name ?? 'upload';
    sendJson(response, 200, {
      id,
      object: 'file',
      bytes: raw.length,
      created_at: 0,
      filename,
      purpose,
      status: 'processed',
    });
  }

  download(fileId: string, response: ServerResponse): void {
    const file = this.files.get(fileId);
    if (file === undefined)
      return sendJson(response, 404, errorBody('no such file', 'invalid_request_error'));
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(file.content);
  }

  createBatch(raw: Buffer, response: ServerResponse): void {
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    const id = this.id('batch_');
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
    this.batches.set(id, batch);
    this.polls.set(id, 0);
    sendJson(response, 200, batch);
  }

  retrieveBatch(batchId: string, response: ServerResponse): void {
    const batch = this.batches.get(batchId);
    if (batch === undefined)
      return sendJson(response, 404, errorBody('no such batch', 'invalid_request_error'));
    const count = (this.polls.get(batchId) ?? 0) + 1;
    this.polls.set(batchId, count);
    if (batch.status !== 'completed') {
      if (count >= (this.options.batchPollsUntilComplete ?? 1)) this.runBatch(batch);
      else batch.status = 'in_progress';
    }
    sendJson(response, 200, batch);
  }

  /** Answers every line of the batch's input file through `chatReply` and writes the output file. */
  private runBatch(batch: Record<string, unknown>): void {
    const input = this.files.get(String(batch.input_file_id));
    const lines = (input?.content ?? '').split('\n').filter((line) => line.trim() !== '');
    const output = lines.map((line) => {
      const item = JSON.parse(line) as { custom_id: string; body: Record<string, unknown> };
      const reply = this.chatReply(item.body, true);
      const body = reply.rawBody === undefined ? reply.body : reply.rawBody;
      const response = { status_code: reply.status, request_id: 'fake', body };
      return JSON.stringify({ id: this.id('batch_req_'), custom_id: item.custom_id, response, error: null });
    });
    const outputId = this.id('file-');
    const content = output.length > 0 ? `${output.join('\n')}\n` : '';
    this.files.set(outputId, { purpose: 'batch_output', content });
    const counts = { total: lines.length, completed: lines.length, failed: 0 };
    Object.assign(batch, { status: 'completed', output_file_id: outputId, request_counts: counts });
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const route = `${request.method} ${path}`;
    this.httpRequests.push(route);
    const raw = await readBody(request);
    const fileContent = /^GET \/v1\/files\/([^/]+)\/content$/.exec(route);
    const batch = /^GET \/v1\/batches\/([^/]+)$/.exec(route);
    if (route === 'POST /v1/chat/completions') return this.chat(raw, response);
    if (route === 'POST /v1/files') return this.upload(request, raw, response);
    if (route === 'POST /v1/batches') return this.createBatch(raw, response);
    if (fileContent !== null) return this.download(fileContent[1] ?? '', response);
    if (batch !== null) return this.retrieveBatch(batch[1] ?? '', response);
    sendJson(response, 404, errorBody(`the fake server has no ${route}`, 'invalid_request_error'));
  }
}

export async function startFakeOpenAIServer(
  options: FakeOpenAIServerOptions = {},
): Promise<FakeOpenAIServer> {
  const fake = new FakeOpenAI(options);
  let busy = 0; // open connections + requests being handled
  let handling = 0;
  let peak = 0;
  let waiters: (() => void)[] = [];
  const release = (): void => {
    busy -= 1;
    if (busy > 0) return;
    for (const resolve of waiters) resolve();
    waiters = [];
  };
  const server = createServer((request, response) => {
    busy += 1;
    handling += 1;
    peak = Math.max(peak, handling);
    fake
      .handle(request, response)
      .catch((error: unknown) => sendJson(response, 500, errorBody(String(error), 'server_error')))
      .finally(() => {
        handling -= 1;
        release();
      });
  });
  server.on('connection', (socket) => {
    busy += 1;
    socket.on('close', release);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    chatRequests: fake.chatRequests,
    httpRequests: fake.httpRequests,
    files: fake.files,
    batches: fake.batches,
    peakRequests: () => peak,
    idle: () => (busy === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
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
