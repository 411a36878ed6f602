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
import type { OpenStreams } from './open-streams.js';
import {
  chatCompletionRequestSchema,
  checkTextLength,
  questionOf,
  requireJsonBody,
  type ChatCompletionRequest,
} from './request-schemas.js';
import type { ServeLimits } from './serve-config.js';

/** URLs and `host:port` pairs: where an upstream lives is the server's business, not the client's. */
const upstreamAddress = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"]+|\b(?:[\w-]+\.)*[\w-]+:\d{2,5}\b/gi;

/**
 * The 502 of a failed brick call: the brick's message with every URL and `host:port` replaced
 * by `[upstream]` (the server log keeps the whole message).
 */
export function brickFailure(reply: FastifyReply, error: string | undefined): ApiError {
  reply.log.error({ brickError: error }, 'a brick call failed');
  const message = (error ?? 'unknown error').replace(upstreamAddress, '[upstream]');
  return new ApiError(502, 'server_error', `a brick call failed: ${message}`, { code: 'brick_error' });
}

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
  checkTextLength(question, limits.questionChars, 'messages', 'the question (the last user message)');
  checkTextLength(request.context, limits.questionChars, 'context', 'context');
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
  streams: OpenStreams,
  reply: FastifyReply,
  request: ChatCompletionRequest,
  question: string,
): Promise<FastifyReply> {
  const identity = newCompletionIdentity(request.model);
  const includeUsage = request.stream_options?.include_usage === true;
  const extra = includeUsage ? { usage: null } : {};
  const stream = new PassThrough();
  const metrics = service.metrics;
  // The status line said 200 before the chain ran: an error event is counted by its own status.
  const endWithError = (apiError: ApiError) => {
    if (stream.writableEnded) return;
    metrics.setOutcome(reply.raw, apiError.status);
    metrics.error(apiError.options.code ?? apiError.type);
    sse(stream, apiError.body());
  };
  const unregister = streams.add({
    response: reply.raw,
    cut(apiError) {
      endWithError(apiError);
      sse(stream, '[DONE]');
      stream.end();
    },
  });
  sse(stream, completionChunk(identity, { role: 'assistant', content: '' }, null, extra));
  const chain = service.chain(request.model);
  const running = service.start(request.model, {
    question,
    context: request.context,
    maxSubquestions: request.max_subquestions,
    maxTokens: request.max_tokens ?? request.max_completion_tokens ?? undefined,
    signal: disconnectSignal(reply),
    onStep: (step) => {
      const text = stepText(step);
      if (text !== '') sse(stream, completionChunk(identity, { content: text }, null, extra));
    },
  });
  running
    .then((trace) => {
      if (trace.failure === 'error') throw brickFailure(reply, trace.error);
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
      if (apiError.status >= 500 && !(error instanceof ApiError))
        reply.log.error({ err: error }, 'chat completion stream failed');
      endWithError(apiError);
    })
    .finally(() => {
      sse(stream, '[DONE]');
      stream.end();
      unregister();
    });
  return reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(stream);
}

export function registerChatRoute(
  app: FastifyInstance,
  service: ChainService,
  limits: ServeLimits,
  streams: OpenStreams,
): void {
  app.post('/v1/chat/completions', async (httpRequest, reply) => {
    requireJsonBody(httpRequest.headers['content-type']);
    const { request, question } = checkRequest(httpRequest.body, limits);
    if (request.stream === true) return streamCompletion(service, streams, reply, request, question);
    const chain = service.chain(request.model);
    const trace = await service.start(request.model, {
      question,
      context: request.context,
      maxSubquestions: request.max_subquestions,
      maxTokens: request.max_tokens ?? request.max_completion_tokens ?? undefined,
      signal: disconnectSignal(reply),
    });
    if (trace.failure === 'error') throw brickFailure(reply, trace.error);
    return chatCompletionBody(newCompletionIdentity(request.model), chain, trace);
  });
}
