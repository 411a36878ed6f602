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
 *
 * `localBrick` (bench/serve-local-brick.ts): a random-weight local decomposer brick at 1 and 8
 * concurrent clients (32 without --quick), with batching of concurrent brick calls off and on.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { defaults } from '../src/config/defaults.js';
import { scoreAnswer } from '../src/data/metrics/index.js';
import { resolveServeConfig } from '../src/serve/serve-config.js';
import { createServeApp } from '../src/serve/server.js';
import { generateExamples } from '../src/worlds/index.js';
import { runClients, summarize } from './serve-clients.js';
import { runLocalBrick } from './serve-local-brick.js';

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
  const results = await runClients(url, questions, { clients, seconds });
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  lag.disable();
  await server.close(5_000);
  const wrongAnswers = results.answers.filter(
    ([index, content]) => !scoreAnswer(content, examples[index]).correct,
  ).length;
  const { firstError, ...row } = summarize(results, elapsedSeconds, lag);
  return {
    clients,
    seconds,
    ...row,
    wrongAnswers,
    decomposer,
    placement,
    workerThreads: threads,
    ...(firstError === undefined ? {} : { firstError }),
    // A local decomposer brick at 1, 8 (and 32) clients, batching off and on, in this same run.
    localBrick: await runLocalBrick(options),
  };
}
