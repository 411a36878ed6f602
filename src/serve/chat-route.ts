/**
 * `POST /v1/chat/completions`: `model` names a chain, the last user message is the question.
 * Non-streaming: one chat completion. `stream: true`: server-sent events in OpenAI's chunk
 * format — a role delta, a content delta per step as it completes, the final answer, a chunk
 * with `finish_reason`, a usage chunk when `stream_options.include_usage`, then `[DONE]`.
 * A queue-full or unknown-model error is known before the stream starts, so it still gets its
 * status code; an error after that arrives as an `error` event before `[DONE]`.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, invalidRequest } from './api-error.js';
import type { ChainService } from './chain-service.js';
import {
  chatCompletionBody,
  completionChunk,
  dncSummary,
  finalStreamText,
  newCompletionIdentity,
  stepText,
  usageOf,
} from './chat-completion.js';
import { chatCompletionRequestSchema, questionOf, type ChatCompletionRequest } from './request-schemas.js';
import type { ServeLimits } from './serve-config.js';

function checkRequest(
  body: unknown,
  limits: ServeLimits,
): { request: ChatCompletionRequest; question: string } {
  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error, 'chat completion request');
  const request = parsed.data;
  for (const param of ['max_tokens', 'max_completion_tokens'] as const) {
    const value = request[param];
    if (value !== undefined && value !== null && value > limits.maxTokens)
      throw new ApiError(
        400,
        'invalid_request_error',
        `${param} ${value} is above this server's limit of ${limits.maxTokens}`,
        {
          param,
          code: 'invalid_value',
        },
      );
  }
  const question = questionOf(request);
  if (question === undefined)
    throw new ApiError(
      400,
      'invalid_request_error',
      'messages hold no user message with text: the last user message is the question',
      {
        param: 'messages',
        code: 'invalid_value',
      },
    );
  return { request, question };
}

/** Aborts when the client goes away before the response is complete. */
function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  return controller.signal;
}

function sse(stream: PassThrough, value: unknown): void {
  if (!stream.writableEnded)
    stream.write(`data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`);
}

async function streamCompletion(
  service: ChainService,
  reply: FastifyReply,
  request: ChatCompletionRequest,
  question: string,
): Promise<FastifyReply> {
  const identity = newCompletionIdentity(request.model);
  const includeUsage = request.stream_options?.include_usage === true;
  const extra = includeUsage ? { usage: null } : {};
  const stream = new PassThrough();
  sse(stream, completionChunk(identity, { role: 'assistant', content: '' }, null, extra));
  const chain = service.chain(request.model);
  const running = service.start(request.model, {
    question,
    context: request.context,
    maxSubquestions: request.max_subquestions,
    signal: disconnectSignal(reply),
    onStep: (step) => {
      const text = stepText(step);
      if (text !== '') sse(stream, completionChunk(identity, { content: text }, null, extra));
    },
  });
  running
    .then((trace) => {
      if (trace.failure === 'error')
        throw new ApiError(502, 'server_error', `a brick call failed: ${trace.error ?? 'unknown error'}`, {
          code: 'brick_error',
        });
      sse(stream, completionChunk(identity, { content: finalStreamText(trace) }, null, extra));
      sse(stream, completionChunk(identity, {}, 'stop', { ...extra, dnc: dncSummary(chain, trace) }));
      if (includeUsage)
        sse(stream, { ...completionChunk(identity, {}, null), choices: [], usage: usageOf(trace.cost) });
    })
    .catch((error: unknown) => {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, 'server_error', 'internal server error (see the server log)');
      if (apiError.status >= 500) reply.log.error({ err: error }, 'chat completion stream failed');
      sse(stream, apiError.body());
    })
    .finally(() => {
      sse(stream, '[DONE]');
      stream.end();
    });
  return reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(stream);
}

export function registerChatRoute(app: FastifyInstance, service: ChainService, limits: ServeLimits): void {
  app.post('/v1/chat/completions', async (httpRequest, reply) => {
    const { request, question } = checkRequest(httpRequest.body, limits);
    if (request.stream === true) return streamCompletion(service, reply, request, question);
    const chain = service.chain(request.model);
    const trace = await service.start(request.model, {
      question,
      context: request.context,
      maxSubquestions: request.max_subquestions,
      signal: disconnectSignal(reply),
    });
    if (trace.failure === 'error')
      throw new ApiError(502, 'server_error', `a brick call failed: ${trace.error ?? 'unknown error'}`, {
        code: 'brick_error',
      });
    return chatCompletionBody(newCompletionIdentity(request.model), chain, trace);
  });
}
