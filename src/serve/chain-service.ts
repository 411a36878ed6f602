/**
 * Runs served chains for requests: finds the chain a `model` names, admits the request to the
 * bounded queue (429 when full), applies the sub-question cap and the per-request deadline
 * (queue wait included; 504 beyond), and feeds the metrics. Cancellation (timeout or a client
 * that went away) stops the chain at its next brick call; the slot is released only when the
 * chain has really stopped, so the concurrency limit stays true.
 */
import { defaults } from '../config/defaults.js';
import { chainDecomposers, type Chain } from '../data/schemas.js';
import type { BrickResult, DecomposeOutput } from '../runtime/bricks/brick.js';
import { chainBricksFor, runChain } from '../runtime/chain.js';
import type { ChainStep, ChainTrace } from '../runtime/chain-trace.js';
import { AdmissionQueue, QueueFullError } from './admission.js';
import { ApiError } from './api-error.js';
import type { ServeConfig } from './serve-config.js';
import type { ServeBricks } from './serve-bricks.js';
import type { ServeMetrics } from './serve-metrics.js';

export interface RunRequest {
  question: string;
  context?: string;
  maxSubquestions?: number;
  /** The request's `max_tokens`: the most tokens each brick call may generate. */
  maxTokens?: number;
  /** Aborted when the client disconnects. */
  signal?: AbortSignal;
  onStep?: (step: ChainStep) => void;
}

function cancellation(signal: AbortSignal): ApiError {
  const reason: unknown = signal.reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError')
    return new ApiError(504, 'timeout_error', 'the chain did not finish within the server deadline', {
      code: 'timeout',
    });
  return new ApiError(499, 'invalid_request_error', 'the client closed the request', { code: 'cancelled' });
}

/** Settles with `work`, or rejects as soon as `signal` aborts (work then finishes unobserved). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(cancellation(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancellation(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class ChainService {
  readonly admission: AdmissionQueue;
  private readonly chains: Map<string, Chain>;
  private bricks: ServeBricks | undefined;
  /** Moving average of each chain's run time in seconds, for its `retry-after`. */
  private readonly averageSeconds = new Map<string, number>();

  constructor(
    private readonly config: ServeConfig,
    readonly metrics: ServeMetrics,
  ) {
    this.chains = new Map(config.chains.map((chain) => [chain.name, chain]));
    this.admission = new AdmissionQueue(config.limits.concurrency, config.limits.queueSize);
  }

  get names(): string[] {
    return [...this.chains.keys()];
  }

  /** Called once the bricks are loaded; requests before that get 503. */
  attach(bricks: ServeBricks): void {
    this.bricks = bricks;
  }

  chain(name: string): Chain {
    const chain = this.chains.get(name);
    if (chain === undefined)
      throw new ApiError(
        404,
        'invalid_request_error',
        `The model '${name}' does not exist: serve one of ${this.names.map((known) => `'${known}'`).join(', ')} (GET /v1/models)`,
        { param: 'model', code: 'model_not_found' },
      );
    return chain;
  }

  private loadedBricks(): ServeBricks {
    if (this.bricks === undefined)
      throw new ApiError(503, 'service_unavailable_error', 'the bricks are still loading; retry shortly', {
        code: 'not_ready',
        headers: { 'retry-after': '1' },
      });
    return this.bricks;
  }

  private cap(chain: Chain, requested: number | undefined): number {
    const limit = this.config.limits.maxSubquestions;
    if (requested !== undefined && requested > limit)
      throw new ApiError(
        400,
        'invalid_request_error',
        `max_subquestions ${requested} is above this server's cap of ${limit}`,
        {
          param: 'max_subquestions',
          code: 'invalid_value',
        },
      );
    return Math.min(requested ?? chain.maxSubquestions ?? defaults.prompts.maxSubquestions, limit);
  }

  /**
   * Admits the request (throws a 429 ApiError synchronously when the queue is full, so a
   * streaming response can still answer with a status) and returns the running chain.
   */
  start(name: string, request: RunRequest): Promise<ChainTrace> {
    const chain = this.chain(name);
    const bricks = this.loadedBricks();
    const capped: Chain = { ...chain, maxSubquestions: this.cap(chain, request.maxSubquestions) };
    const signal = this.deadline(request.signal);
    const work = this.admit(chain.name, async () => {
      signal.throwIfAborted();
      const startedAt = performance.now();
      const trace = await runChain(
        capped,
        chainBricksFor(capped, (spec) => bricks.get(spec)),
        { question: request.question, context: request.context },
        {
          signal,
          ...(request.maxTokens !== undefined ? { maxNewTokens: request.maxTokens } : {}),
          onStep: (step) => {
            this.metrics.step(step);
            if (!signal.aborted) request.onStep?.(step);
          },
        },
      );
      this.observe(chain.name, trace.failure, performance.now() - startedAt);
      return trace;
    });
    return raceAbort(work, signal);
  }

  /** The chain's decomposer alone (static decomposition), through the same queue and deadline. */
  decompose(name: string, request: Omit<RunRequest, 'onStep'>): Promise<BrickResult<DecomposeOutput>> {
    const chain = this.chain(name);
    const bricks = this.loadedBricks();
    // A cascade's decomposition endpoint answers with its first (cheapest) decomposer.
    const decomposer = chainDecomposers(chain).map((spec) => bricks.get(spec))[0];
    if (decomposer?.decompose === undefined)
      throw new ApiError(
        400,
        'invalid_request_error',
        `chain '${name}' has no decomposer that decomposes up front (mode ${chain.mode}); pick a static or dynamic chain with a decomposer brick`,
        { param: 'model', code: 'no_decomposer' },
      );
    const decompose = decomposer.decompose.bind(decomposer);
    const maxSubquestions = this.cap(chain, request.maxSubquestions);
    const signal = this.deadline(request.signal);
    const work = this.admit(chain.name, async () => {
      signal.throwIfAborted();
      const result = await decompose({
        question: request.question,
        context: request.context,
        maxSubquestions,
        signal,
        ...(request.maxTokens !== undefined ? { maxNewTokens: request.maxTokens } : {}),
      });
      this.metrics.step({
        stage: 'decompose',
        brick: decomposer.spec,
        usage: result.usage,
        costUsd: result.costUsd,
      });
      return result;
    });
    return raceAbort(work, signal);
  }

  private deadline(clientSignal: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(this.config.limits.timeoutMs);
    return clientSignal === undefined ? timeout : AbortSignal.any([timeout, clientSignal]);
  }

  /**
   * Runs `task` through the admission queue. A refusal is counted once, by the error handler
   * that answers it; its `retry-after` comes from the asking chain's own average run time
   * (1 s before it has run), so fast traffic on one chain never shortens a slow chain's.
   */
  private admit<T>(chain: string, task: () => Promise<T>): Promise<T> {
    try {
      return this.admission.run(task);
    } catch (error) {
      if (!(error instanceof QueueFullError)) throw error;
      const { concurrency, queueSize } = this.admission;
      const average = this.averageSeconds.get(chain) ?? 1;
      const seconds = Math.max(1, Math.ceil((average * (concurrency + queueSize)) / concurrency));
      throw new ApiError(429, 'rate_limit_error', error.message, {
        code: 'queue_full',
        headers: { 'retry-after': String(seconds) },
      });
    }
  }

  private observe(chain: string, failure: string, milliseconds: number): void {
    const seconds = milliseconds / 1000;
    const previous = this.averageSeconds.get(chain);
    this.averageSeconds.set(chain, previous === undefined ? seconds : 0.9 * previous + 0.1 * seconds);
    this.metrics.chain(chain, failure === 'none' ? 'answered' : failure, seconds);
    if (failure !== 'none') this.metrics.error(`chain_${failure}`);
  }
}
