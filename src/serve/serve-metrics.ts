/**
 * Prometheus metrics (prom-client, the maintained Node client), in a registry of the server's
 * own so that several servers in one process (tests, bench) never share counters:
 * requests by route and status, request and chain latency histograms, tokens and dollars per
 * brick and stage, queue depth and chains running, worker-pool queue, errors by type, and
 * the process defaults (event-loop lag, memory, CPU).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ChainStep } from '../runtime/chain-trace.js';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsSources {
  running: () => number;
  waiting: () => number;
  workerQueue: () => number;
}

export class ServeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly requestSeconds: Histogram<'route'>;
  private readonly chainSeconds: Histogram<'chain' | 'outcome'>;
  private readonly tokens: Counter<'brick' | 'stage' | 'direction'>;
  private readonly dollars: Counter<'brick' | 'stage'>;
  private readonly errors: Counter<'type'>;
  /** Responses whose outcome differs from their status line (a stream that ended in an error). */
  private readonly outcomes = new WeakMap<object, number>();

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'dnc_http_requests_total',
      help: 'HTTP requests by route, method and status code',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'dnc_http_request_duration_seconds',
      help: 'HTTP request latency by route (for streams: until the last byte)',
      labelNames: ['route'],
      buckets: latencyBuckets,
      registers,
    });
    this.chainSeconds = new Histogram({
      name: 'dnc_chain_duration_seconds',
      help: 'Chain run time (queue wait excluded) by chain and outcome',
      labelNames: ['chain', 'outcome'],
      buckets: latencyBuckets,
      registers,
    });
    this.tokens = new Counter({
      name: 'dnc_brick_tokens_total',
      help: 'Tokens through each brick by stage and direction (input, output)',
      labelNames: ['brick', 'stage', 'direction'],
      registers,
    });
    this.dollars = new Counter({
      name: 'dnc_brick_cost_usd_total',
      help: 'Dollars spent per brick and stage (simulated for the reference expert)',
      labelNames: ['brick', 'stage'],
      registers,
    });
    this.errors = new Counter({
      name: 'dnc_errors_total',
      help: 'Error responses and failed chains by error type',
      labelNames: ['type'],
      registers,
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('dnc_queue_depth', 'Requests waiting for a free chain slot', sources.waiting);
    gauge('dnc_chains_running', 'Chains running now', sources.running);
    gauge('dnc_worker_queue_depth', 'Brick calls waiting for a free worker thread', sources.workerQueue);
    collectDefaultMetrics({ register: this.registry, prefix: 'dnc_process_' });
  }

  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.requestSeconds.observe({ route }, seconds);
  }

  /**
   * Records that `response` (an HTTP response object) ended as `status` although its status
   * line said otherwise: a stream starts with 200 before its chain runs, and a chain that
   * then fails or times out is counted by its real outcome (e.g. 504).
   */
  setOutcome(response: object, status: number): void {
    this.outcomes.set(response, status);
  }

  /** The status to count for `response`: its recorded outcome, else the status it was sent with. */
  outcomeOf(response: object, sent: number): number {
    return this.outcomes.get(response) ?? sent;
  }

  chain(chain: string, outcome: string, seconds: number): void {
    this.chainSeconds.observe({ chain, outcome }, seconds);
  }

  step(step: Pick<ChainStep, 'brick' | 'stage' | 'usage' | 'costUsd'>): void {
    const labels = { brick: step.brick, stage: step.stage };
    this.tokens.inc({ ...labels, direction: 'input' }, step.usage.inputTokens);
    this.tokens.inc({ ...labels, direction: 'output' }, step.usage.outputTokens);
    this.dollars.inc(labels, step.costUsd);
  }

  error(type: string): void {
    this.errors.inc({ type });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
