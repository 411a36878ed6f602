/**
 * The serve config (DESIGN.md "Serve config"): `{ chains: [CHAIN, …], port?, host?, apiKeys?,
 * limits?, workers? }`. Strict: an unknown key is an error naming the key and the file, so a
 * typo never silently falls back to a default. `resolveServeConfig` fills in `defaults.serve`.
 */
import { readJsonFileSync } from '../data/json-file.js';
import { z } from 'zod';
import { defaults } from '../config/defaults.js';
import { chainSchema, type Chain } from '../data/schemas.js';
import { loadChainRoutesSync } from '../runtime/routing/route-file.js';
import { formatZodError } from '../data/zod-format.js';

const positiveInteger = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be > 0`);

/** Node's timer range: a delay above 2^31 - 1 ms is silently turned into 1 ms by setTimeout. */
export const maxTimerMs = 2_147_483_647;

/** A duration in milliseconds that Node's timers honour (1 ms .. about 24.8 days). */
export const durationMs = (what: string) =>
  positiveInteger(what).max(
    maxTimerMs,
    `${what} must be at most ${maxTimerMs} ms (about 24.8 days, the longest timer Node can set)`,
  );

/** An API key: long enough to guess at no cost, with no whitespace (a bearer token can never carry it). */
const apiKeySchema = z
  .string({ error: 'an API key must be a string' })
  .min(8, 'an API key must be at least 8 characters')
  .regex(/^\S+$/, 'an API key must not contain whitespace (an Authorization header could never carry it)');

export const serveLimitsSchema = z.strictObject({
  /** Largest request body accepted (413 beyond). */
  bodyBytes: positiveInteger('limits.bodyBytes').optional(),
  /** Largest `max_tokens` a request may ask for (400 beyond). */
  maxTokens: positiveInteger('limits.maxTokens').optional(),
  /** Cap on sub-questions per request, whatever the chain or the request says. */
  maxSubquestions: positiveInteger('limits.maxSubquestions').optional(),
  /** Per-request deadline, queue wait included (504 beyond). */
  timeoutMs: durationMs('limits.timeoutMs').optional(),
  /** Time a client has to send a request's headers and body (408 beyond). */
  receiveTimeoutMs: durationMs('limits.receiveTimeoutMs').optional(),
  /** Longest question (last user message, or `question`) in characters (400 beyond). */
  questionChars: positiveInteger('limits.questionChars').optional(),
  /** Requests that may wait for a free slot (429 beyond). */
  queueSize: z.number().int().nonnegative('limits.queueSize must be >= 0').optional(),
  /** Chains running at once. */
  concurrency: positiveInteger('limits.concurrency').optional(),
  /** Concurrent calls to one local brick that run as one batch (1 turns batching off). */
  batchSize: positiveInteger('limits.batchSize').max(256, 'limits.batchSize must be at most 256').optional(),
  /** Longest a call waits for others to join its batch while another batch runs (an idle brick: none). */
  batchWaitMs: z
    .number({ error: 'limits.batchWaitMs must be a number' })
    .int('limits.batchWaitMs must be a whole number')
    .min(0, 'limits.batchWaitMs must be >= 0')
    .max(10_000, "limits.batchWaitMs must be at most 10000 (it is added to a lone request's latency)")
    .optional(),
  /**
   * Continuous batching (default false): a call joins the brick's generation already running in a
   * worker at its next step, instead of waiting for it to end; false: the `batchWaitMs` window.
   */
  continuousBatching: z.boolean({ error: 'limits.continuousBatching must be true or false' }).optional(),
});

/**
 * `placement`: `auto` runs local (`onnx`) and `reference` bricks in worker threads and remote
 * (`openai:`) bricks on the main thread; `always` runs every brick in a worker.
 */
export const serveWorkersSchema = z.strictObject({
  placement: z.enum(['auto', 'always']).optional(),
  threads: positiveInteger('workers.threads').optional(),
});

export const serveConfigSchema = z
  .strictObject({
    chains: z
      .array(chainSchema)
      .min(1, 'list at least one chain: { "name", "decomposer", "solver", "mode" }'),
    port: z.number().int().min(0).max(65_535).optional(),
    host: z.string().min(1).optional(),
    apiKeys: z
      .array(apiKeySchema)
      .min(
        1,
        'apiKeys is empty, which would leave every route open; list at least one key, or leave apiKeys out to serve without auth',
      )
      .optional(),
    /** `/metrics` without a key even when `apiKeys` is set (it names the served chains and bricks). */
    publicMetrics: z.boolean({ error: 'publicMetrics must be true or false' }).optional(),
    limits: serveLimitsSchema.optional(),
    workers: serveWorkersSchema.optional(),
    /** Concurrent calls per main-thread (remote or reference) brick. */
    remoteConcurrency: positiveInteger('remoteConcurrency').optional(),
  })
  .superRefine((config, context) => {
    const seen = new Set<string>();
    config.chains.forEach((chain, index) => {
      if (seen.has(chain.name))
        context.addIssue({
          code: 'custom',
          path: ['chains', index, 'name'],
          message: `chain name '${chain.name}' is used twice; each chain needs its own name (clients ask for it as \`model\`)`,
        });
      seen.add(chain.name);
    });
  });
export type ServeConfigInput = z.input<typeof serveConfigSchema>;

export interface ServeLimits {
  bodyBytes: number;
  maxTokens: number;
  maxSubquestions: number;
  timeoutMs: number;
  receiveTimeoutMs: number;
  questionChars: number;
  queueSize: number;
  concurrency: number;
  batchSize: number;
  batchWaitMs: number;
  continuousBatching: boolean;
}

export interface ServeConfig {
  chains: Chain[];
  port: number;
  host: string;
  apiKeys: string[];
  /** True when `/metrics` answers without a key although `apiKeys` is set. */
  publicMetrics: boolean;
  limits: ServeLimits;
  workers: { placement: 'auto' | 'always'; threads: number };
  remoteConcurrency: number;
  shutdownDeadlineMs: number;
}

export class ServeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServeConfigError';
  }
}

/** Validates a config object; `source` names where it came from in error messages. */
export function resolveServeConfig(value: unknown, source = 'serve config'): ServeConfig {
  const parsed = serveConfigSchema.safeParse(value);
  if (!parsed.success)
    throw new ServeConfigError(
      `${source}: ${formatZodError(parsed.error)} ` +
        '(expected { "chains": [...], "port"?, "host"?, "apiKeys"?, "publicMetrics"?, "limits"?, "workers"?, "remoteConcurrency"? })',
    );
  const config = parsed.data;
  const serve = defaults.serve;
  return {
    chains: config.chains,
    port: config.port ?? serve.port,
    host: config.host ?? serve.host,
    apiKeys: config.apiKeys ?? [],
    publicMetrics: config.publicMetrics ?? false,
    limits: { ...serve.limits, ...stripUndefined(config.limits ?? {}) },
    workers: {
      placement: config.workers?.placement ?? 'auto',
      threads: config.workers?.threads ?? serve.workerThreads,
    },
    remoteConcurrency: config.remoteConcurrency ?? serve.remoteConcurrency,
    shutdownDeadlineMs: serve.shutdownDeadlineMs,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

/** Reads and validates a serve config file (JSON). */
export function loadServeConfig(file: string): ServeConfig {
  const value = readJsonFileSync(file, {
    what: 'serve config',
    missingHint: 'check the path given to --config',
    error: (message) => new ServeConfigError(message),
  });
  const config = resolveServeConfig(value, file);
  // Cascades with `route: { file }` get the rule their route file holds (paths from the working directory).
  try {
    return { ...config, chains: loadChainRoutesSync(config.chains, process.cwd()) };
  } catch (error) {
    throw new ServeConfigError(`${file}: ${(error as Error).message}`);
  }
}
