/**
 * The load generator of `dnc bench serve`: closed-loop clients in a worker thread of their own (so
 * that their HTTP work does not sit on the server's event loop being measured), each posting
 * questions to `POST /v1/chat/completions` until the deadline, and the summary of what they saw.
 */
import type { IntervalHistogram } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

export interface ClientResults {
  latenciesMs: number[];
  /** [question index, answer content] of each successful request. */
  answers: [number, string][];
  errors: number;
  firstError?: string;
}

/** Plain JavaScript (evaluated, no tsx needed): each client loops over the questions with `fetch`. */
const clientSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, questions, clients, until, extra } = workerData;
const results = { latenciesMs: [], answers: [], errors: 0 };
async function client(offset) {
  for (let index = offset; Date.now() < until; index += 1) {
    const example = index % questions.length;
    const startedAt = performance.now();
    try {
      const response = await fetch(url + '/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: questions[example] }], ...extra }),
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

export function runClients(
  url: string,
  questions: string[],
  options: { clients: number; seconds: number; extra?: Record<string, unknown> },
): Promise<ClientResults> {
  const worker = new Worker(clientSource, {
    eval: true,
    workerData: {
      url,
      questions,
      clients: options.clients,
      until: Date.now() + options.seconds * 1000,
      extra: options.extra ?? {},
    },
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

export interface LoadRow {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  eventLoopLagP99Ms: number;
  firstError?: string;
}

export function summarize(results: ClientResults, elapsedSeconds: number, lag: IntervalHistogram): LoadRow {
  const sorted = [...results.latenciesMs].sort((left, right) => left - right);
  return {
    requests: sorted.length + results.errors,
    errors: results.errors,
    rps: round(sorted.length / elapsedSeconds),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    eventLoopLagP99Ms: round(lag.percentile(99) / 1e6),
    ...(results.firstError === undefined ? {} : { firstError: results.firstError }),
  };
}
