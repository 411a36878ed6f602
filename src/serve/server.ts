/**
 * The HTTP server. Built on Fastify: maintained, fast, with hooks for auth and metrics, a
 * built-in body-size limit (413), pino logging with serializers and redaction, and a graceful
 * `close()` that stops accepting, answers 503 on kept-alive connections and waits for requests
 * in flight. The server listens at once (`/healthz` answers, `/readyz` says 503) and loads the
 * bricks in the background; `ready` settles when they are loaded.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { LoadBrickOptions } from '../runtime/bricks/registry.js';
import { ApiError, fromHttpError } from './api-error.js';
import { createAuthenticator, isPublicRoute } from './auth.js';
import { ChainService } from './chain-service.js';
import { clientErrorOf, writeClientError } from './client-error.js';
import { loggableHeaders, loggableUrl } from './log-redaction.js';
import { OpenStreams } from './open-streams.js';
import { checkRequestTarget } from './request-target.js';
import { registerChatRoute } from './chat-route.js';
import { registerInfoRoutes, type Readiness } from './info-routes.js';
import type { ServeConfig } from './serve-config.js';
import { loadServeBricks, type ServeBricks } from './serve-bricks.js';
import { ServeMetrics } from './serve-metrics.js';

export interface ServeAppOptions {
  /** Pino options for Fastify's logger (`{ level, stream }`), or false for none. Default: info on stderr. */
  logger?: false | { level?: string; stream?: NodeJS.WritableStream };
  /** Options for loading bricks (prices, $/CPU-hour, cwd; custom loaders for main-thread bricks in tests). */
  loadOptions?: LoadBrickOptions;
  /** Module URLs exporting `brickLoaders`, tried first by the worker threads (custom local bricks). */
  workerLoaderModules?: string[];
}

export interface ServeApp {
  app: FastifyInstance;
  service: ChainService;
  metrics: ServeMetrics;
  readiness: Readiness;
  /** Resolves once every brick is loaded; rejects when one cannot be. */
  ready: Promise<void>;
  /** Starts listening; resolves with the base URL (`http://HOST:PORT`). */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, waits up to `deadlineMs` for requests in flight (then cuts them), closes the bricks. */
  close(deadlineMs?: number): Promise<{ forced: boolean }>;
}

function loggerOptions(option: ServeAppOptions['logger']): FastifyServerOptions['logger'] {
  if (option === false) return false;
  return {
    level: option?.level ?? 'info',
    ...(option?.stream === undefined ? { stream: process.stderr } : { stream: option.stream }),
    // Belt and braces: the serializer below never passes a credential header or query
    // parameter, and redaction would catch one logged some other way.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["proxy-authorization"]',
        'req.headers.cookie',
        'req.headers["api-key"]',
        'req.headers["x-api-key"]',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: { method: string; url: string; ip?: string; headers: Record<string, unknown> }) => ({
        method: request.method,
        url: loggableUrl(request.url),
        remoteAddress: request.ip,
        headers: loggableHeaders(request.headers),
      }),
    },
  };
}

/** The route label of a request in the metrics: the route the router matched. */
const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? 'unmatched';

function installRequestHooks(
  app: FastifyInstance,
  config: ServeConfig,
  metrics: ServeMetrics,
  readiness: Readiness,
): void {
  const authenticate = createAuthenticator(config.apiKeys);
  app.addHook('onRequest', async (request, reply) => {
    // A client that goes away before its response is complete is still counted (as 499).
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished)
        metrics.request(routeOf(request), request.method, 499, reply.elapsedTime / 1000);
    });
    checkRequestTarget(request.raw.url ?? '');
    // Auth follows the route the router matched, never the raw URL: deny unless it is public.
    if (!isPublicRoute(request.routeOptions.config)) authenticate(request.headers.authorization);
    if (readiness.state === 'closing')
      throw new ApiError(503, 'service_unavailable_error', 'the server is shutting down; retry elsewhere', {
        code: 'shutting_down',
        headers: { connection: 'close' },
      });
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(
      routeOf(request),
      request.method,
      metrics.outcomeOf(reply.raw, reply.statusCode),
      reply.elapsedTime / 1000,
    );
  });
}

function installErrorHandlers(app: FastifyInstance, metrics: ServeMetrics): void {
  app.setErrorHandler(async (error, request, reply) => {
    const apiError =
      error instanceof ApiError
        ? error
        : fromHttpError(error as { statusCode?: number; code?: string; message: string });
    metrics.error(apiError.options.code ?? apiError.type);
    if (apiError.status >= 500 && !(error instanceof ApiError))
      request.log.error({ err: error }, 'request failed');
    return reply
      .status(apiError.status)
      .headers(apiError.options.headers ?? {})
      .send(apiError.body());
  });
  app.setNotFoundHandler(async (request, reply) => {
    const error = new ApiError(
      404,
      'invalid_request_error',
      `no route ${request.method} ${request.url.split('?')[0]}`,
      {
        code: 'unknown_url',
      },
    );
    metrics.error('unknown_url');
    return reply.status(404).send(error.body());
  });
}

/** Fastify options from the config: body size, receive timeout, Node's own error replies. */
function fastifyOptions(config: ServeConfig, options: ServeAppOptions, metrics: ServeMetrics) {
  const receiveTimeoutMs = config.limits.receiveTimeoutMs;
  return {
    logger: loggerOptions(options.logger),
    bodyLimit: config.limits.bodyBytes,
    // Node checks the receive deadline every `connectionsCheckingInterval` ms (30 s by default,
    // far too coarse for short deadlines): check at a tenth of the deadline, within 10 ms..1 s.
    requestTimeout: receiveTimeoutMs,
    http: {
      requestTimeout: receiveTimeoutMs,
      headersTimeout: Math.min(60_000, receiveTimeoutMs),
      connectionsCheckingInterval: Math.min(1_000, Math.max(10, Math.floor(receiveTimeoutMs / 10))),
    },
    // Requests on kept-alive connections during shutdown get the 503 of the onRequest hook.
    return503OnClosing: false,
    clientErrorHandler(error: Error & { code?: string }, socket: Socket) {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const apiError = clientErrorOf(error, receiveTimeoutMs);
      metrics.error(apiError.options.code ?? apiError.type);
      metrics.request('unmatched', 'unknown', apiError.status, 0);
      writeClientError(socket, apiError, error);
    },
  } satisfies FastifyServerOptions & { http: Record<string, number> };
}

export function createServeApp(config: ServeConfig, options: ServeAppOptions = {}): ServeApp {
  const readiness: Readiness = { state: 'loading' };
  let bricks: ServeBricks | undefined;
  const streams = new OpenStreams();
  const metrics: ServeMetrics = new ServeMetrics({
    running: () => chainService.admission.running,
    waiting: () => chainService.admission.waiting,
    workerQueue: () => bricks?.pool?.queueSize ?? 0,
  });
  const chainService: ChainService = new ChainService(config, metrics);
  const app = Fastify(fastifyOptions(config, options, metrics));
  // A JSON API: a text/plain body gets 415 (Fastify would otherwise parse it as a string).
  app.removeContentTypeParser('text/plain');
  installRequestHooks(app, config, metrics, readiness);
  installErrorHandlers(app, metrics);
  registerChatRoute(app, chainService, config.limits, streams);
  registerInfoRoutes(app, chainService, metrics, readiness, Date.now(), {
    limits: config.limits,
    publicMetrics: config.publicMetrics || config.apiKeys.length === 0,
  });

  const ready = loadServeBricks(config.chains, {
    placement: config.workers.placement,
    threads: config.workers.threads,
    remoteConcurrency: config.remoteConcurrency,
    loadOptions: options.loadOptions ?? {},
    workerLoaderModules: options.workerLoaderModules,
    batching: {
      batchSize: config.limits.batchSize,
      waitMs: config.limits.batchWaitMs,
      continuous: config.limits.continuousBatching,
    },
  }).then(
    (loaded) => {
      bricks = loaded;
      chainService.attach(loaded);
      readiness.placements = loaded.placements;
      if (readiness.state === 'loading') readiness.state = 'ready';
      app.log.info({ placements: loaded.placements }, 'bricks loaded');
    },
    (error: unknown) => {
      readiness.state = 'failed';
      readiness.error = error instanceof Error ? error.message : String(error);
      throw error;
    },
  );
  ready.catch(() => undefined);

  return {
    app,
    service: chainService,
    metrics,
    readiness,
    ready,
    async listen(port = config.port, host = config.host) {
      await app.listen({ port, host });
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address !== null ? address.port : port;
      return `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    },
    async close(deadlineMs = config.shutdownDeadlineMs) {
      readiness.state = 'closing';
      const closing = app.close();
      // A kept-alive connection whose response finishes after close() began stays open until
      // its keep-alive timeout; closing idle connections as they appear lets close() end as
      // soon as the last request in flight is answered.
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
      const deadline = new AbortController();
      const first = await Promise.race([
        closing.then(() => 'closed' as const),
        delay(deadlineMs, 'deadline' as const, { signal: deadline.signal }).catch(() => 'closed' as const),
      ]);
      deadline.abort();
      clearInterval(sweeper);
      if (first === 'deadline') {
        // Streams still open are told why they stop before their connections are cut.
        await streams.cutAll(
          new ApiError(503, 'service_unavailable_error', 'the server shut down before this stream finished', {
            code: 'shutting_down',
          }),
          500,
        );
        app.server.closeAllConnections();
      }
      await closing;
      await ready.catch(() => undefined);
      await bricks?.close();
      return { forced: first === 'deadline' };
    },
  };
}
