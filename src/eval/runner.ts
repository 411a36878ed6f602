/**
 * The eval runner: every chain of a suite on every example of its datasets, then the report.
 *
 * - Each distinct brick is loaded once (`eval-bricks.ts`); every call goes through the brick
 *   cache (`brick-cache.ts`, `cache.jsonl`), so a rerun pays nothing for calls already made.
 * - Examples run with p-limit concurrency; each finished example's trace is appended to the
 *   fsynced journal `traces.jsonl` at once, and a later run skips every (chain, dataset,
 *   example) already there — a killed eval resumes where it stopped. Error traces are retried.
 * - At the end the traces of the suite's current selection are aggregated (`aggregate.ts`) and
 *   `report.json`, `report.md`, `report.html` and the plots are written (`write-reports.ts`).
 */
import { join } from 'node:path';
import pLimit from 'p-limit';
import { UserError } from '../errors/user-error.js';
import { defaults } from '../config/defaults.js';
import { openJournal, type Journal } from '../data/jsonl.js';
import type { Chain } from '../data/schemas.js';
import type { BrickLoader } from '../runtime/bricks/registry.js';
import { loadChainRoutes } from '../runtime/routing/route-file.js';
import {
  ChainConfigurationError,
  chainBricksFor,
  checkChainBricks,
  runChain,
  type ChainBricks,
} from '../runtime/chain.js';
import type { PriceTable } from '../teacher/pricing.js';
import { aggregateReport } from './aggregate.js';
import { BrickCallCache, chainScope, type CallOwner } from './brick-cache.js';
import { loadSuiteDatasets, type LoadedDataset } from './datasets.js';
import { loadEvalBricks, type EvalBricks } from './eval-bricks.js';
import { openEvalState, tracesFileName } from './eval-state.js';
import { isCascade, probeCascade } from './cascade-probes.js';
import { errorTrace, exampleTrace, type TraceContext } from './example-trace.js';
import { measureExpertRouting } from './expert-routing.js';
import type { Report } from './report-schema.js';
import type { Suite } from './suite.js';
import { traceSchema, type Trace } from './trace-schema.js';
import { writeReports, type WrittenReports } from './write-reports.js';

export const cacheFileName = 'cache.jsonl';

export interface EvalProgress {
  /** Examples finished in this run, and examples this run has to compute. */
  done: number;
  total: number;
  spentUsd: number;
  savedUsd: number;
}

export interface EvalOptions {
  suite: Suite;
  /** The suite's file, for error messages. */
  suiteFile?: string;
  /** The eval directory: traces, cache, state and reports. */
  out: string;
  /** Overrides the suite's `limit` (examples per dataset). */
  limit?: number;
  /** Overrides the suite's `concurrency` (examples in flight). */
  concurrency?: number;
  /** The cache journal (default `OUT/cache.jsonl`); share one between eval directories to reuse calls. */
  cacheFile?: string;
  /** Recompute every example (earlier traces discarded; the cache still serves calls). */
  rerun?: boolean;
  /** Resolves relative dataset files and brick directories (default: the working directory). */
  cwd?: string;
  /** Environment of remote bricks (default process.env). */
  env?: NodeJS.ProcessEnv;
  localThreads?: number;
  placement?: 'auto' | 'always';
  /**
   * Concurrent calls to one local brick gathered into one batched generation: at most this many
   * per batch (default `defaults.eval.batchSize`; 1: every call alone).
   */
  batchSize?: number;
  /** Replaces the brick loaders (tests). */
  loaders?: readonly BrickLoader[];
  onProgress?: (progress: EvalProgress) => void;
  /** Bootstrap seed and resamples of the intervals. */
  seed?: number;
  resamples?: number;
}

export interface EvalSummary {
  /** Traces in the report, those computed in this run, and those taken from earlier runs. */
  examples: number;
  computed: number;
  resumed: number;
  spentUsd: number;
  savedUsd: number;
  cacheHits: number;
  cacheMisses: number;
  cacheFile: string;
  tracesFile: string;
}

export interface EvalResult {
  report: Report;
  traces: Trace[];
  files: WrittenReports;
  summary: EvalSummary;
}

interface Work extends TraceContext {
  key: string;
}

function tripleKey(chain: string, dataset: string, exampleId: string): string {
  return JSON.stringify([chain, dataset, exampleId]);
}

/** Every (chain, dataset, example) of the suite's selection, in report order. */
function workList(chains: readonly Chain[], datasets: readonly LoadedDataset[]): Work[] {
  return chains.flatMap((chain) =>
    datasets.flatMap((dataset) =>
      dataset.examples.map((example) => ({
        chain,
        dataset: dataset.name,
        example,
        key: tripleKey(chain.name, dataset.name, example.id),
      })),
    ),
  );
}

/** Finished traces from earlier runs that still match their example (latest line wins; errors are retried). */
function finishedTraces(existing: readonly Trace[], work: readonly Work[]): Map<string, Trace> {
  const byKey = new Map<string, Trace>();
  for (const trace of existing) byKey.set(tripleKey(trace.chain, trace.dataset, trace.exampleId), trace);
  const finished = new Map<string, Trace>();
  for (const item of work) {
    const trace = byKey.get(item.key);
    if (trace === undefined || trace.failure === 'error') continue;
    if (trace.question !== item.example.question || trace.gold !== item.example.answer) continue;
    finished.set(item.key, trace);
  }
  return finished;
}

function checkChains(chains: readonly Chain[], bricks: EvalBricks): void {
  for (const chain of chains) {
    try {
      checkChainBricks(
        chain,
        chainBricks(chain, (spec) => bricks.get(spec).brick),
      );
    } catch (error) {
      if (error instanceof ChainConfigurationError) throw new UserError(error.message, { cause: error });
      throw error;
    }
  }
}

function chainBricks(chain: Chain, brickFor: (spec: string) => ChainBricks['solver']): ChainBricks {
  return chainBricksFor(chain, brickFor);
}

async function runExample(
  item: Work,
  runId: string,
  bricks: EvalBricks,
  cache: BrickCallCache,
): Promise<Trace> {
  const owner: CallOwner = {
    run: runId,
    chain: item.chain.name,
    dataset: item.dataset,
    exampleId: item.example.id,
  };
  const scope = chainScope(item.chain);
  const viewed = chainBricks(item.chain, (spec) => {
    const loaded = bricks.get(spec);
    return cache.bind(loaded.brick, { identity: loaded.identity, scope }, owner);
  });
  const startedAt = performance.now();
  try {
    const options = { staticSolve: defaults.runtime.staticSolve };
    const run = await runChain(
      item.chain,
      viewed,
      { question: item.example.question, context: item.example.context, example: item.example },
      options,
    );
    if (!isCascade(item.chain) || run.failure === 'error') return exampleTrace(item, run);
    // A cascade: run each decomposer's path too (cached calls are free), for the threshold curve.
    const probeBricks = (probe: number) =>
      chainBricks(item.chain, (spec) => {
        const loaded = bricks.get(spec);
        const probeOwner = { ...owner, chain: `${item.chain.name} (probe ${probe})` };
        return cache.bind(loaded.brick, { identity: loaded.identity, scope }, probeOwner);
      });
    const route = await probeCascade(item.chain, run, item.example, probeBricks, options);
    return exampleTrace(item, run, route);
  } catch (error) {
    return errorTrace(item, error, performance.now() - startedAt);
  }
}

/** Dollars an example's trace spent or saved (a cascade's probes included: they are paid too). */
function stageCost(trace: Trace, pick: 'costUsd' | 'savedUsd'): number {
  const probes = pick === 'costUsd' ? (trace.route?.probeUsd ?? 0) : 0;
  return trace.cost.decompose[pick] + trace.cost.solve[pick] + probes;
}

async function computeAll(
  pending: readonly Work[],
  context: { runId: string; bricks: EvalBricks; cache: BrickCallCache; journal: Journal<Trace> },
  options: EvalOptions,
  concurrency: number,
): Promise<Trace[]> {
  const limit = pLimit(concurrency);
  const progress: EvalProgress = { done: 0, total: pending.length, spentUsd: 0, savedUsd: 0 };
  options.onProgress?.({ ...progress });
  return Promise.all(
    pending.map((item) =>
      limit(async () => {
        const trace = await runExample(item, context.runId, context.bricks, context.cache);
        await context.journal.append(trace);
        progress.done += 1;
        progress.spentUsd += stageCost(trace, 'costUsd');
        progress.savedUsd += stageCost(trace, 'savedUsd');
        options.onProgress?.({ ...progress });
        return trace;
      }),
    ),
  );
}

/** Runs (or resumes) an eval and writes its reports. Setup problems throw UserError before any brick call. */
export async function runEval(options: EvalOptions): Promise<EvalResult> {
  const { out } = options;
  const cwd = options.cwd ?? process.cwd();
  // Cascades with `route: { file }` get the rule their route file holds.
  const suite = { ...options.suite, chains: await loadChainRoutes(options.suite.chains, cwd) };
  const datasets = await loadSuiteDatasets(suite.datasets, {
    limit: options.limit ?? suite.limit,
    cwd,
    suiteFile: options.suiteFile,
  });
  const prices: PriceTable = { ...defaults.prices, ...suite.prices };
  const bricks = await loadEvalBricks(suite.chains, {
    loadOptions: {
      prices,
      usdPerCpuHour: defaults.localCost.usdPerCpuHour,
      env: options.env,
      cwd,
      loaders: options.loaders,
    },
    localThreads: options.localThreads ?? defaults.eval.localThreads,
    placement: options.placement,
    batching: {
      batchSize: options.batchSize ?? defaults.eval.batchSize,
      waitMs: defaults.eval.batchWaitMs,
    },
  });
  let cache: BrickCallCache | undefined;
  let journal: Journal<Trace> | undefined;
  try {
    checkChains(suite.chains, bricks);
    const state = await openEvalState(out, {
      suite: suite.name,
      chains: suite.chains,
      prices,
      rerun: options.rerun,
    });
    cache = await BrickCallCache.open(options.cacheFile ?? join(out, cacheFileName));
    journal = await openJournal(join(out, tracesFileName), traceSchema);
    const work = workList(suite.chains, datasets);
    const finished = finishedTraces(journal.existing, work);
    const pending = work.filter((item) => !finished.has(item.key));
    const concurrency = options.concurrency ?? suite.concurrency ?? defaults.eval.concurrency;
    const computed = await computeAll(
      pending,
      { runId: state.runId, bricks, cache, journal },
      options,
      concurrency,
    );
    const byKey = new Map(finished);
    pending.forEach((item, index) => byKey.set(item.key, computed[index]));
    const traces = work.map((item) => byKey.get(item.key) as Trace);
    const aggregated = aggregateReport({
      suite: suite.name,
      chains: suite.chains,
      traces,
      datasets: datasets.map((dataset) => dataset.name),
      seed: options.seed ?? defaults.eval.bootstrapSeed,
      resamples: options.resamples ?? defaults.eval.bootstrapResamples,
    });
    // Mixture-of-experts decomposer bricks: expert shares per dataset (src/eval/expert-routing.ts).
    const experts = await measureExpertRouting({ chains: suite.chains, datasets, traces, cwd });
    const report = experts.length === 0 ? aggregated : { ...aggregated, experts };
    const files = await writeReports(out, report, traces);
    const summary: EvalSummary = {
      examples: traces.length,
      computed: computed.length,
      resumed: finished.size,
      spentUsd: computed.reduce((sum, trace) => sum + stageCost(trace, 'costUsd'), 0),
      savedUsd: computed.reduce((sum, trace) => sum + stageCost(trace, 'savedUsd'), 0),
      cacheHits: cache.hits,
      cacheMisses: cache.misses,
      cacheFile: cache.file,
      tracesFile: journal.file,
    };
    return { report, traces, files, summary };
  } finally {
    await journal?.close();
    await cache?.close();
    await bricks.close();
  }
}
