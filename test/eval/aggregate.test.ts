import { describe, expect, it } from 'vitest';
import { aggregateReport } from '../../src/eval/aggregate.js';
import { reportSchema } from '../../src/eval/report-schema.js';
import { traceSchema } from '../../src/eval/trace-schema.js';
import { makeTrace, syntheticChains, syntheticTraces } from './synthetic-traces.js';

const report = aggregateReport({ suite: 'synthetic', chains: syntheticChains, traces: syntheticTraces(20) });
const result = (chain: string, dataset: string) =>
  report.results.find((entry) => entry.chain === chain && entry.dataset === dataset)!;

describe('aggregateReport', () => {
  it('produces one result per chain × dataset, in suite order then dataset order', () => {
    expect(report.suite).toBe('synthetic');
    expect(report.results.map((entry) => `${entry.chain}@${entry.dataset}`)).toEqual(
      syntheticChains.flatMap((chain) => [`${chain.name}@hops`, `${chain.name}@math`]),
    );
    expect(reportSchema.safeParse(report).success).toBe(true);
  });

  it('computes score, interval, total and per-example dollars, savings and tokens', () => {
    const studentRef = result('student/ref', 'hops');
    expect(studentRef).toMatchObject({
      decomposer: 'runs/quickstart/export',
      solver: 'reference',
      mode: 'static',
      n: 20,
    });
    expect(studentRef.score).toBeCloseTo(0.9, 12);
    expect(studentRef.ci95[0]).toBeLessThan(0.9);
    expect(studentRef.ci95[1]).toBeGreaterThanOrEqual(0.9);
    // Example 0's decomposition was a cache hit: 19 paid calls, one saved.
    expect(studentRef.costUsd.decompose).toBeCloseTo(19 * 0.00001, 12);
    expect(studentRef.costUsd.solve).toBeCloseTo(20 * 0.004, 12);
    expect(studentRef.costUsd.total).toBeCloseTo(studentRef.costUsd.decompose + studentRef.costUsd.solve, 12);
    expect(studentRef.costPerExampleUsd!.total).toBeCloseTo(studentRef.costUsd.total / 20, 12);
    expect(studentRef.savedUsd).toBeCloseTo(0.00001, 12);
    expect(studentRef.tokens).toEqual({
      decompose: { input: 2000, output: 400 },
      solve: { input: 3000, output: 600 },
    });
    expect(studentRef.simulated).toBe(true);
  });

  it('computes latency percentiles over examples', () => {
    // Latencies 20, 25, …, 115: p50 at rank 9.5 → 67.5; p95 at rank 18.05 → 110.25.
    expect(result('ref/ref', 'math').latencyMs).toEqual({ p50: 67.5, p95: 110.25 });
  });

  it('counts failures and reports decomposition metrics only with gold and a decomposer', () => {
    expect(result('student/student', 'hops').failures).toEqual({
      none: 6,
      'no-decomposition': 0,
      'unanswerable-subquestion': 5,
      'wrong-answer': 9,
      error: 0,
    });
    expect(result('student/ref', 'hops').decomposition).toMatchObject({
      stepCountAgreement: 1,
      meanStepDifference: 0,
      n: 20,
    });
    expect(result('student/ref', 'hops').decomposition!.rougeL).toBeGreaterThan(0.5);
    expect(result('student/ref', 'hops').decomposition!.rougeL).toBeLessThan(1);
    expect(result('student/ref', 'math').decomposition).toBeNull();
    expect(result('single/ref', 'hops').decomposition).toBeNull();
    expect(result('single/ref', 'hops').decomposer).toBeNull();
  });

  it('marks exactly the non-dominated chains of each dataset as Pareto-optimal', () => {
    const optimal = (dataset: string) =>
      report.results
        .filter((entry) => entry.dataset === dataset && entry.paretoOptimal)
        .map((entry) => entry.chain);
    // hops: student/student (cheapest decomposer and solver, 0.3) beats single/ref (0.25, dearer);
    // student/ref reaches 0.9 for less than ref/ref; the dynamic chain costs more for less.
    expect(optimal('hops')).toEqual(['student/ref', 'student/student']);
    expect(optimal('math')).toEqual(['ref/ref', 'student/ref', 'student/student']);
  });

  it('is deterministic for a seed', () => {
    const again = aggregateReport({
      suite: 'synthetic',
      chains: syntheticChains,
      traces: syntheticTraces(20),
    });
    expect(again).toEqual(report);
  });

  it('follows a given dataset order and leaves out pairs without traces', () => {
    const traces = syntheticTraces(4).filter(
      (trace) => !(trace.chain === 'ref/ref' && trace.dataset === 'math'),
    );
    const ordered = aggregateReport({
      suite: 's',
      chains: syntheticChains,
      traces,
      datasets: ['math', 'hops'],
    });
    expect(ordered.results.slice(0, 3).map((entry) => `${entry.chain}@${entry.dataset}`)).toEqual([
      'single/ref@math',
      'single/ref@hops',
      'ref/ref@hops',
    ]);
  });

  it('rejects traces of unknown chains and duplicate traces', () => {
    const stray = makeTrace({ chain: 'nope', dataset: 'hops', exampleId: '1' });
    expect(() => aggregateReport({ suite: 's', chains: syntheticChains, traces: [stray] })).toThrow(
      /not in the suite/,
    );
    const twice = makeTrace({ chain: 'ref/ref', dataset: 'hops', exampleId: '1' });
    expect(() => aggregateReport({ suite: 's', chains: syntheticChains, traces: [twice, twice] })).toThrow(
      /duplicate/,
    );
  });
});

describe('Pareto flags under caching', () => {
  it('keeps the same frontier when a rerun is served entirely from cache', () => {
    const traces = syntheticTraces(20);
    const cachedTraces = traces.map((trace) => ({
      ...trace,
      cost: {
        decompose: {
          ...trace.cost.decompose,
          costUsd: 0,
          savedUsd: trace.cost.decompose.costUsd + trace.cost.decompose.savedUsd,
        },
        solve: {
          ...trace.cost.solve,
          costUsd: 0,
          savedUsd: trace.cost.solve.costUsd + trace.cost.solve.savedUsd,
        },
      },
    }));
    const flags = (report: ReturnType<typeof aggregateReport>) =>
      report.results.map((result) => `${result.chain}/${result.dataset}:${result.paretoOptimal === true}`);
    const first = aggregateReport({ suite: 's', chains: syntheticChains, traces });
    const rerun = aggregateReport({ suite: 's', chains: syntheticChains, traces: cachedTraces });
    expect(rerun.results.every((result) => result.costUsd.total === 0)).toBe(true);
    expect(flags(rerun)).toEqual(flags(first));
    expect(flags(first).filter((flag) => flag.endsWith('true')).length).toBeLessThan(first.results.length);
  });
});

describe('traceSchema', () => {
  it('accepts the synthetic traces', () => {
    for (const trace of syntheticTraces(3)) expect(traceSchema.safeParse(trace).success).toBe(true);
  });

  it('rejects a correct trace with a failure, an error without a message and unknown keys', () => {
    const base = makeTrace({ chain: 'c', dataset: 'd', exampleId: 'e' });
    const messages = (value: unknown) => {
      const parsed = traceSchema.safeParse(value);
      return parsed.success ? '' : parsed.error.issues.map((issue) => issue.message).join(' | ');
    };
    expect(messages({ ...base, failure: 'wrong-answer' })).toMatch(/exactly when `correct` is true/);
    expect(messages({ ...base, correct: false, score: 0, failure: 'error' })).toMatch(
      /needs an `error` message/,
    );
    expect(messages({ ...base, costUSD: 1 })).toMatch(/costUSD/);
    expect(messages({ ...base, subanswers: ['1', '2', '3'] })).toMatch(/more sub-answers/);
  });
});

describe('reportSchema', () => {
  it('accepts a minimal report with only the DESIGN.md fields', () => {
    const minimal = {
      suite: 'x',
      results: [
        {
          chain: 'c',
          decomposer: 'reference',
          solver: 'openai:gpt-4o-mini',
          mode: 'static',
          dataset: 'gsm8k',
          n: 10,
          score: 0.5,
          ci95: [0.2, 0.8],
          costUsd: { decompose: 0.01, solve: 0.02, total: 0.03 },
          savedUsd: 0,
          tokens: { decompose: { input: 1, output: 2 }, solve: { input: 3, output: 4 } },
          latencyMs: { p50: 1, p95: 2 },
        },
      ],
    };
    expect(reportSchema.safeParse(minimal).success).toBe(true);
    expect(
      reportSchema.safeParse({ ...minimal, results: [...minimal.results, ...minimal.results] }).success,
    ).toBe(false);
    expect(
      reportSchema.safeParse({ ...minimal, results: [{ ...minimal.results[0], ci95: [0.8, 0.2] }] }).success,
    ).toBe(false);
  });
});
