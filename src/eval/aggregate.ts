/**
 * Traces → `report.json`: groups the per-example traces by chain × dataset and computes the
 * result fields of `report-schema.ts`. Pure (no I/O) and deterministic for a seed, so the
 * runner, tests and `report.md`/`report.html` all see the same numbers.
 */
import { chainDecomposers, decomposerLabel, type Chain } from '../data/schemas.js';
import { cascadeReports } from './cascade-report.js';
import { paretoFrontierByGroup } from './pareto.js';
import { reportSchema } from './report-schema.js';
import type { FailureCounts, Report, ReportResult, StageDollars } from './report-schema.js';
import { bootstrapMeanInterval, decompositionMetrics, mean, percentile } from './statistics.js';
import { failureKinds } from './trace-schema.js';
import type { BrickCost, Trace } from './trace-schema.js';

/** The brick spec of the synthetic worlds' expert, whose price is simulated. */
export const simulatedBrickSpec = 'reference';

export interface AggregateInput {
  suite: string;
  /** The suite's chains; results follow this order. Every trace must name one of them. */
  chains: readonly Chain[];
  traces: readonly Trace[];
  /** Dataset order for the results (default: order of first appearance in the traces). */
  datasets?: readonly string[];
  /** Seed of the bootstrap (default 0). */
  seed?: number;
  /** Bootstrap resamples (default 1000). */
  resamples?: number;
}

function sumOf(traces: readonly Trace[], pick: (trace: Trace) => number): number {
  let total = 0;
  for (const trace of traces) total += pick(trace);
  return total;
}

function stageDollars(traces: readonly Trace[], pick: (cost: BrickCost) => number): StageDollars {
  const decompose = sumOf(traces, (trace) => pick(trace.cost.decompose));
  const solve = sumOf(traces, (trace) => pick(trace.cost.solve));
  return { decompose, solve, total: decompose + solve };
}

function failureCounts(traces: readonly Trace[]): FailureCounts {
  const counts = Object.fromEntries(failureKinds.map((kind) => [kind, 0])) as FailureCounts;
  for (const trace of traces) counts[trace.failure] += 1;
  return counts;
}

function decompositionOf(chain: Chain, traces: readonly Trace[]): ReportResult['decomposition'] {
  if (chain.mode === 'single') return null;
  const pairs = traces.flatMap((trace) =>
    trace.goldSubquestions === undefined
      ? []
      : [{ predicted: trace.subquestions, gold: trace.goldSubquestions }],
  );
  return decompositionMetrics(pairs);
}

/** The result for one chain on one dataset (traces non-empty, all of that pair). */
export function aggregateResult(
  chain: Chain,
  dataset: string,
  traces: readonly Trace[],
  options: { seed?: number; resamples?: number } = {},
): ReportResult {
  const scores = traces.map((trace) => trace.score);
  const latencies = traces.map((trace) => trace.latencyMs);
  const costUsd = stageDollars(traces, (cost) => cost.costUsd);
  const n = traces.length;
  return {
    chain: chain.name,
    decomposer: decomposerLabel(chain),
    solver: chain.solver,
    mode: chain.mode,
    dataset,
    n,
    score: mean(scores),
    ci95: bootstrapMeanInterval(scores, { seed: options.seed ?? 0, resamples: options.resamples ?? 1000 }),
    costUsd,
    savedUsd: stageDollars(traces, (cost) => cost.savedUsd).total,
    tokens: {
      decompose: {
        input: sumOf(traces, (trace) => trace.cost.decompose.inputTokens),
        output: sumOf(traces, (trace) => trace.cost.decompose.outputTokens),
      },
      solve: {
        input: sumOf(traces, (trace) => trace.cost.solve.inputTokens),
        output: sumOf(traces, (trace) => trace.cost.solve.outputTokens),
      },
    },
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
    costPerExampleUsd: {
      decompose: costUsd.decompose / n,
      solve: costUsd.solve / n,
      total: costUsd.total / n,
    },
    failures: failureCounts(traces),
    decomposition: decompositionOf(chain, traces),
    simulated: chain.solver === simulatedBrickSpec || chainDecomposers(chain).includes(simulatedBrickSpec),
    paretoOptimal: false,
  };
}

function groupTraces(input: AggregateInput): Map<string, Map<string, Trace[]>> {
  const chainNames = new Set(input.chains.map((chain) => chain.name));
  const grouped = new Map<string, Map<string, Trace[]>>();
  const seen = new Set<string>();
  for (const trace of input.traces) {
    if (!chainNames.has(trace.chain)) {
      throw new Error(
        `trace for example "${trace.exampleId}" names chain "${trace.chain}", which is not in the suite (chains: ${[...chainNames].join(', ')}); traces and suite must match`,
      );
    }
    const key = JSON.stringify([trace.chain, trace.dataset, trace.exampleId]);
    if (seen.has(key)) {
      throw new Error(
        `duplicate trace for chain "${trace.chain}", dataset "${trace.dataset}", example "${trace.exampleId}"; each example must be counted once`,
      );
    }
    seen.add(key);
    const byChain = grouped.get(trace.dataset) ?? new Map<string, Trace[]>();
    const traces = byChain.get(trace.chain) ?? [];
    traces.push(trace);
    byChain.set(trace.chain, traces);
    grouped.set(trace.dataset, byChain);
  }
  return grouped;
}

/**
 * Builds the report: one result per chain × dataset that has traces (a pair without traces
 * is left out: it has no score), ordered by chain (suite order) then dataset. Marks each
 * result's `paretoOptimal` on its dataset's frontier of cost per example against score.
 * The result is validated against `reportSchema` before it is returned.
 */
export function aggregateReport(input: AggregateInput): Report {
  const grouped = groupTraces(input);
  const datasets = [
    ...(input.datasets ?? []),
    ...[...grouped.keys()].filter((name) => !input.datasets?.includes(name)),
  ];
  const results: ReportResult[] = [];
  for (const chain of input.chains) {
    for (const dataset of datasets) {
      const traces = grouped.get(dataset)?.get(chain.name);
      if (traces === undefined) continue;
      results.push(aggregateResult(chain, dataset, traces, input));
    }
  }
  markParetoOptimal(results);
  const cascades = cascadeReports(input.chains, input.traces, datasets);
  return reportSchema.parse({ suite: input.suite, results, ...(cascades.length > 0 ? { cascades } : {}) });
}

/**
 * The frontier point of a result: what running the chain costs per example (dollars spent plus
 * dollars a cache saved) against score. Cache hits must not move a chain on the frontier: a rerun
 * served from cache spends $0 on every chain, yet the chains cost what they cost.
 */
export function costScorePoint(result: ReportResult): { cost: number; score: number } {
  return {
    cost: result.n === 0 ? 0 : (result.costUsd.total + result.savedUsd) / result.n,
    score: result.score,
  };
}

function markParetoOptimal(results: ReportResult[]): void {
  const points = results.map((result) => ({ ...costScorePoint(result), result }));
  for (const frontier of paretoFrontierByGroup(points, (point) => point.result.dataset).values()) {
    for (const point of frontier) point.result.paretoOptimal = true;
  }
}
