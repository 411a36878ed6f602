/**
 * `POST /v1/decompose` (the chain's decomposer alone), `GET /v1/models` (OpenAI list shape),
 * `GET /healthz` (the process answers), `GET /readyz` (200 once the bricks are loaded, 503
 * before or when loading failed) and `GET /metrics` (Prometheus text). The probes answer without
 * a key; `/metrics` needs one when keys are set, unless the config says `publicMetrics: true`.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { invalidRequest } from './api-error.js';
import type { ChainService } from './chain-service.js';
import { checkTextLength, decomposeRequestSchema, requireJsonBody } from './request-schemas.js';
import type { ServeLimits } from './serve-config.js';
import type { ServeMetrics } from './serve-metrics.js';

export interface InfoRouteOptions {
  limits: Pick<ServeLimits, 'questionChars'>;
  /** `/metrics` answers without a key (no keys configured, or `publicMetrics`). */
  publicMetrics: boolean;
}

/** Route config of the routes that answer without a key (auth.ts). */
const publicRoute = { config: { public: true } };

export interface Readiness {
  state: 'loading' | 'ready' | 'failed' | 'closing';
  error?: string;
  placements?: Record<string, 'worker' | 'main'>;
}

export function registerInfoRoutes(
  app: FastifyInstance,
  service: ChainService,
  metrics: ServeMetrics,
  readiness: Readiness,
  startedAt: number,
  options: InfoRouteOptions,
): void {
  app.post('/v1/decompose', async (httpRequest) => {
    requireJsonBody(httpRequest.headers['content-type']);
    const parsed = decomposeRequestSchema.safeParse(httpRequest.body);
    if (!parsed.success) throw invalidRequest(parsed.error, 'decompose request');
    const request = parsed.data;
    checkTextLength(request.question, options.limits.questionChars, 'question', 'the question');
    checkTextLength(request.context, options.limits.questionChars, 'context', 'context');
    const chain = service.chain(request.model);
    const result = await service.decompose(request.model, {
      question: request.question,
      context: request.context,
      maxSubquestions: request.max_subquestions,
    });
    return {
      id: `decomp-${randomUUID()}`,
      object: 'dnc.decomposition',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      decomposer: chain.decomposer,
      kind: result.kind,
      subquestions: result.subquestions,
      usage: {
        prompt_tokens: result.usage.inputTokens,
        completion_tokens: result.usage.outputTokens,
        total_tokens: result.usage.inputTokens + result.usage.outputTokens,
      },
      dnc: {
        costUsd: result.costUsd,
        simulated: result.simulated === true,
        latencyMs: result.latencyMs,
        warnings: result.warnings,
      },
    };
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: service.names.map((id) => ({
      id,
      object: 'model',
      created: Math.floor(startedAt / 1000),
      owned_by: 'dnc',
    })),
  }));

  app.get('/healthz', publicRoute, async () => ({ status: 'ok' }));

  app.get('/readyz', publicRoute, async (_request, reply) => {
    const body = {
      status: readiness.state,
      ...(readiness.error === undefined ? {} : { error: readiness.error }),
    };
    return reply.status(readiness.state === 'ready' ? 200 : 503).send(body);
  });

  app.get('/metrics', options.publicMetrics ? publicRoute : {}, async (_request, reply) =>
    reply.header('content-type', metrics.contentType).send(await metrics.text()),
  );
}
