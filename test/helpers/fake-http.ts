/** Small HTTP helpers of the fake fine-tuning service (test/helpers/fake-fine-tuning-server.ts). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeBehaviour } from './fake-openai-server.js';

export type Reply = { status: number; body: unknown; headers?: Record<string, string> };

export const errorBody = (message: string, type: string) => ({ error: { message, type } });

export function faultReply(behaviour: FakeBehaviour): Reply {
  if (behaviour.kind === 'rate-limit') {
    const headers: Record<string, string> = {};
    if (behaviour.retryAfterMs !== undefined) headers['retry-after-ms'] = String(behaviour.retryAfterMs);
    if (behaviour.retryAfterSeconds !== undefined)
      headers['retry-after'] = String(behaviour.retryAfterSeconds);
    return { status: 429, headers, body: errorBody('Rate limit reached', 'rate_limit_error') };
  }
  if (behaviour.kind === 'status')
    return {
      status: behaviour.status,
      body: errorBody(behaviour.message ?? 'scripted', 'invalid_request_error'),
    };
  const status = behaviour.kind === 'server-error' ? (behaviour.status ?? 500) : 500;
  return { status, body: errorBody('The server had an error', 'server_error') };
}

export function page<Item extends { id: string }>(
  items: readonly Item[],
  url: URL,
  pageSize: number,
): unknown {
  const after = url.searchParams.get('after');
  const limit = Math.min(Number(url.searchParams.get('limit') ?? 20), pageSize);
  const start = after === null ? 0 : items.findIndex((item) => item.id === after) + 1;
  const data = items.slice(start, start + limit);
  return { object: 'list', data, has_more: start + limit < items.length };
}

export function send(response: ServerResponse, reply: Reply): void {
  if (response.destroyed) return;
  response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
  response.end(JSON.stringify(reply.body));
}

/** The request again as a readable stream (its body was read here), for the chat fake's handler. */
export function replay(request: IncomingMessage, raw: Buffer): IncomingMessage {
  const chunks = [raw];
  return Object.assign(Object.create(request) as IncomingMessage, {
    [Symbol.asyncIterator]: async function* () {
      yield* chunks;
    },
  });
}
