/**
 * The local-brick part of `dnc bench serve`: a random-weight decomposer brick (the `tiny` preset;
 * `nano` with --quick) served in front of the reference solver, measured at 1 and 8 concurrent
 * clients (and 32 without --quick), with batching of concurrent brick calls off
 * (`limits.batchSize: 1`), windowed (the serve default: the `batchWaitMs` window, a window split
 * among the free workers) and continuous (`continuousBatching: true`: a call joins the running
 * generation at its next step), all in the same run. Every request asks
 * for `max_tokens` tokens and a random-weight brick never ends early, so every decompose call
 * generates exactly that many: the work per request is fixed and the rows compare alike.
 *
 * Reported per row: requests/s, p50/p99 latency, errors and the server's event-loop lag p99; then
 * the ratios the serving goal reads: 8 clients over 1 client with the default batching (goal ≥ 3),
 * the same for each kind, and batched over off (and continuous over windowed) at 8 clients.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { defaults } from '../src/config/defaults.js';
import { exportBrick } from '../src/export/export-brick.js';
import { resolveServeConfig } from '../src/serve/serve-config.js';
import { createServeApp } from '../src/serve/server.js';
import { loadPreset } from '../src/student/config.js';
import { initializeWeights } from '../src/student/initialize.js';
import { generateExamples } from '../src/worlds/index.js';
import { makeTokenizer } from './decode-models.js';
import { runClients, summarize, type ClientResults, type LoadRow } from './serve-clients.js';

/** Exports a random-weight decomposer brick with a context that holds the decompose prompt. */
async function makeDecomposerBrick(root: string, preset: string): Promise<string> {
  const architecture = { ...(await loadPreset(preset)).architecture, maxPositionEmbeddings: 1024 };
  const tokenizerDirectory = join(root, 'tokenizer');
  await makeTokenizer(tokenizerDirectory, Math.min(architecture.vocabSize, 2048));
  const directory = join(root, 'brick');
  await exportBrick({
    architecture: { ...architecture, vocabSize: Math.min(architecture.vocabSize, 2048) },
    weights: initializeWeights({ ...architecture, vocabSize: Math.min(architecture.vocabSize, 2048) }, 1),
    tokenizerDirectory,
    role: 'decomposer',
    lineage: { dataHash: null, teacher: null, training: { note: 'random weights for the serve benchmark' } },
    metrics: {},
    outDirectory: directory,
    decoding: {},
  });
  return directory;
}

type VariantName = 'off' | 'windowed' | 'continuous';

interface Variant {
  batching: VariantName;
  /** 1: batching off. */
  batchSize: number;
  batchWaitMs: number;
  continuousBatching: boolean;
}

type Setting = Variant & { clients: number };

interface Served {
  url: string;
  close(): Promise<unknown>;
}

/** A server whose one chain is the brick in front of the reference solver, batching as `variant` says. */
async function startServer(brick: string, variant: Variant, maxClients: number): Promise<Served> {
  const { batching: _name, ...limits } = variant;
  const config = resolveServeConfig(
    {
      chains: [{ name: 'bench', decomposer: brick, solver: 'reference', mode: 'static', maxSubquestions: 8 }],
      limits: { concurrency: maxClients, queueSize: maxClients, ...limits },
      workers: { placement: 'auto', threads: defaults.serve.workerThreads },
    },
    'bench serve config',
  );
  const server = createServeApp(config, { logger: false });
  const url = await server.listen(0, '127.0.0.1');
  await server.ready;
  return { url, close: () => server.close(5_000) };
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * Rounds of `seconds` each, the variants' servers taking turns within every round, so that load
 * from other processes on a shared machine hits them alike; a row gives the median round's rps and
 * event-loop lag p99, and latency percentiles over every request of its rounds.
 */
async function measureRounds(
  servers: Served[],
  clients: number,
  questions: string[],
  options: { seconds: number; rounds: number; maxTokens: number },
): Promise<LoadRow[]> {
  const extra = { max_tokens: options.maxTokens };
  const rounds = servers.map((): { results: ClientResults; row: LoadRow }[] => []);
  for (let round = 0; round < options.rounds; round += 1)
    for (const [index, server] of servers.entries()) {
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const startedAt = performance.now();
      const results = await runClients(server.url, questions, { clients, seconds: options.seconds, extra });
      const elapsedSeconds = (performance.now() - startedAt) / 1000;
      lag.disable();
      rounds[index]!.push({ results, row: summarize(results, elapsedSeconds, lag) });
    }
  return rounds.map((measured) => {
    const pooled: ClientResults = {
      latenciesMs: measured.flatMap(({ results }) => results.latenciesMs),
      answers: [],
      errors: measured.reduce((sum, { results }) => sum + results.errors, 0),
      firstError: measured.find(({ results }) => results.firstError !== undefined)?.results.firstError,
    };
    const row = summarize(pooled, 1, monitorEventLoopDelay());
    return {
      ...row,
      ...(row.firstError === undefined ? {} : { firstError: row.firstError }),
      rps: median(measured.map(({ row: each }) => each.rps)),
      eventLoopLagP99Ms: median(measured.map(({ row: each }) => each.eventLoopLagP99Ms)),
    };
  });
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : Math.round((a / b) * 100) / 100);

export async function runLocalBrick(options: { quick: boolean }): Promise<Record<string, unknown>> {
  const preset = options.quick ? 'nano' : 'tiny';
  const seconds = options.quick ? 1 : 2;
  const rounds = options.quick ? 3 : 5;
  const maxTokens = 16;
  const clientCounts = options.quick ? [1, 8] : [1, 8, 32];
  const root = await mkdtemp(join(tmpdir(), 'dnc-bench-serve-'));
  try {
    const brick = await makeDecomposerBrick(root, preset);
    const questions = [
      ...generateExamples({ world: 'hops', n: 50, seed: 5, split: 'test' }),
      ...generateExamples({ world: 'math', n: 50, seed: 6, split: 'test' }),
    ].map((example) => example.question);
    const { batchSize, batchWaitMs } = defaults.serve.limits;
    // Batching off, windowed and continuous: they alternate at each client count, so load from
    // elsewhere hits all alike.
    const variants: Variant[] = [
      { batching: 'off', batchSize: 1, batchWaitMs: 0, continuousBatching: false },
      { batching: 'windowed', batchSize, batchWaitMs, continuousBatching: false },
      { batching: 'continuous', batchSize, batchWaitMs, continuousBatching: true },
    ];
    const servers: Served[] = [];
    const rows: (LoadRow & Setting)[] = [];
    try {
      for (const variant of variants)
        servers.push(await startServer(brick, variant, Math.max(...clientCounts)));
      // Half a second of untimed load warms each server's workers before the clock starts.
      for (const server of servers)
        await runClients(server.url, questions, {
          clients: 8,
          seconds: 0.5,
          extra: { max_tokens: maxTokens },
        });
      for (const clients of clientCounts) {
        const measured = await measureRounds(servers, clients, questions, { seconds, rounds, maxTokens });
        measured.forEach((row, index) => rows.push({ clients, ...variants[index]!, ...row }));
      }
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
    const rps = (clients: number, batching: VariantName) =>
      rows.find((row) => row.clients === clients && row.batching === batching)?.rps ?? 0;
    const defaultBatching: VariantName = defaults.serve.limits.continuousBatching ? 'continuous' : 'windowed';
    return {
      preset,
      maxTokens,
      seconds,
      rounds,
      workerThreads: defaults.serve.workerThreads,
      batchSize,
      batchWaitMs,
      defaultBatching,
      rows,
      // Batched: the serve defaults' batching (windowed unless the defaults say otherwise).
      clients8OverClients1Batched: ratio(rps(8, defaultBatching), rps(1, defaultBatching)),
      clients8OverClients1Continuous: ratio(rps(8, 'continuous'), rps(1, 'continuous')),
      clients8OverClients1Windowed: ratio(rps(8, 'windowed'), rps(1, 'windowed')),
      clients8OverClients1Unbatched: ratio(rps(8, 'off'), rps(1, 'off')),
      batchedOverUnbatchedAt8: ratio(rps(8, defaultBatching), rps(8, 'off')),
      continuousOverWindowedAt8: ratio(rps(8, 'continuous'), rps(8, 'windowed')),
      ...(clientCounts.includes(32)
        ? { continuousOverWindowedAt32: ratio(rps(32, 'continuous'), rps(32, 'windowed')) }
        : {}),
      errors: rows.reduce((sum, row) => sum + row.errors, 0),
      eventLoopLagP99MsMax: Math.max(...rows.map((row) => row.eventLoopLagP99Ms)),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
