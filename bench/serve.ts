/**
 * `dnc bench serve`: starts a dnc server in-process on 127.0.0.1 (random port), runs a bounded
 * number of concurrent clients for a bounded number of seconds against
 * `POST /v1/chat/completions` (loopback only; it stops by itself), and reports throughput,
 * latency percentiles and the server's event-loop lag (p99) while the bricks run.
 *
 * The chain: a decomposer in front of the reference solver, under capacity (the queue admits
 * every client). The decomposer switch:
 * - default: the `reference` decomposer, with every brick forced into the worker pool
 *   (`workers.placement: 'always'`), so the pool path is what gets measured;
 * - `DNC_BENCH_SERVE_DECOMPOSER=runs/<pipeline>/export/brick` (a local brick directory, e.g. the
 *   exported `nano` decomposer): that brick runs in the workers (its kind is `onnx`) and the
 *   reference solver on the main thread (`placement: 'auto'`).
 * The clients run in a worker thread of this process (loopback HTTP), off the measured event loop.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { defaults } from '../src/config/defaults.js';
import { scoreAnswer } from '../src/data/metrics/index.js';
import { resolveServeConfig } from '../src/serve/serve-config.js';
import { createServeApp } from '../src/serve/server.js';
import { generateExamples } from '../src/worlds/index.js';

interface ClientResults {
  latenciesMs: number[];
  /** [example index, answer content] of each successful request. */
  answers: [number, string][];
  errors: number;
  firstError?: string;
}

/**
 * The clients run in a worker thread of their own, so that their HTTP work does not sit on
 * the server's event loop being measured. Plain JavaScript (evaluated, no tsx needed): each
 * client loops over the questions with `fetch` until the deadline.
 */
const clientSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, questions, clients, until } = workerData;
const results = { latenciesMs: [], answers: [], errors: 0 };
async function client(offset) {
  for (let index = offset; Date.now() < until; index += 1) {
    const example = index % questions.length;
    const startedAt = performance.now();
    try {
      const response = await fetch(url + '/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: questions[example] }] }),
        signal: AbortSignal.timeout(30000),
      });
      const body = await response.json();
      if (response.status !== 200) throw new Error('HTTP ' + response.status + ': ' + JSON.stringify(body));
      results.latenciesMs.push(performance.now() - startedAt);
      results.answers.push([example, body.choices[0].message.content]);
    } catch (error) {
      results.errors += 1;
      results.firstError ??= String(error && error.message ? error.message : error);
    }
  }
}
Promise.all(Array.from({ length: clients }, (_, index) => client(index * 13))).then(() => parentPort.postMessage(results));
`;

function runClients(
  url: string,
  questions: string[],
  clients: number,
  seconds: number,
): Promise<ClientResults> {
  const worker = new Worker(clientSource, {
    eval: true,
    workerData: { url, questions, clients, until: Date.now() + seconds * 1000 },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (results: ClientResults) => {
      resolve(results);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

export async function run(options: { quick: boolean }): Promise<Record<string, unknown>> {
  const clients = options.quick ? 4 : 16;
  const seconds = options.quick ? 3 : 10;
  const threads = defaults.serve.workerThreads;
  const localDecomposer = process.env.DNC_BENCH_SERVE_DECOMPOSER;
  const decomposer = localDecomposer ?? 'reference';
  const placement = localDecomposer === undefined ? 'always' : 'auto';
  const config = resolveServeConfig(
    {
      chains: [{ name: 'bench', decomposer, solver: 'reference', mode: 'static', maxSubquestions: 8 }],
      limits: { concurrency: clients, queueSize: clients },
      workers: { placement, threads },
    },
    'bench serve config',
  );
  const server = createServeApp(config, { logger: false });
  const url = await server.listen(0, '127.0.0.1');
  await server.ready;
  const examples = [
    ...generateExamples({ world: 'hops', n: 100, seed: 5, split: 'test' }),
    ...generateExamples({ world: 'math', n: 100, seed: 6, split: 'test' }),
  ];
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const startedAt = performance.now();
  const questions = examples.map((example) => example.question);
  const results = await runClients(url, questions, clients, seconds);
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  lag.disable();
  await server.close(5_000);
  const sorted = [...results.latenciesMs].sort((left, right) => left - right);
  const requests = sorted.length + results.errors;
  const wrongAnswers = results.answers.filter(
    ([index, content]) => !scoreAnswer(content, examples[index]).correct,
  ).length;
  return {
    clients,
    seconds,
    requests,
    errors: results.errors,
    wrongAnswers,
    rps: round(sorted.length / elapsedSeconds),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    eventLoopLagP99Ms: round(lag.percentile(99) / 1e6),
    decomposer,
    placement,
    workerThreads: threads,
    ...(results.firstError === undefined ? {} : { firstError: results.firstError }),
  };
}
