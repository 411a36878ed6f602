import { describe, expect, it } from 'vitest';
import { CostMeter, cpuCostUsd, estimateFlops } from '../../src/runtime/cost-meter.js';
import { renderCostTable } from '../../src/runtime/cost-table.js';

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens });

describe('cost meter', () => {
  it('sums calls per stage and brick, per brick, per stage and in total', () => {
    const meter = new CostMeter();
    meter.add({
      stage: 'decompose',
      brick: 'students/tiny',
      usage: usage(100, 20),
      latencyMs: 30,
      costUsd: 0.0001,
      flops: 4e9,
      cpuMs: 25,
    });
    meter.add({
      stage: 'solve',
      brick: 'openai:gpt-4o-mini',
      usage: usage(300, 40),
      latencyMs: 500,
      costUsd: 0.00007,
    });
    meter.add({
      stage: 'solve',
      brick: 'openai:gpt-4o-mini',
      usage: usage(0, 0),
      latencyMs: 1,
      costUsd: 0,
      cached: true,
      savedUsd: 0.00007,
    });
    meter.add({
      stage: 'decompose',
      brick: 'students/tiny',
      usage: usage(50, 10),
      latencyMs: 10,
      costUsd: 0.00005,
      flops: 2e9,
      cpuMs: 12,
    });
    const summary = meter.summary();
    expect(summary.rows.map((row) => [row.stage, row.brick, row.calls])).toEqual([
      ['decompose', 'students/tiny', 2],
      ['solve', 'openai:gpt-4o-mini', 2],
    ]);
    expect(summary.byBrick['students/tiny']).toMatchObject({
      inputTokens: 150,
      outputTokens: 30,
      flops: 6e9,
      cpuMs: 37,
    });
    expect(summary.byStage.solve).toMatchObject({ calls: 2, cacheHits: 1, inputTokens: 300 });
    expect(summary.byStage.solve.costUsd).toBeCloseTo(0.00007, 12);
    expect(summary.byStage.solve.savedUsd).toBeCloseTo(0.00007, 12);
    expect(summary.total).toMatchObject({
      calls: 4,
      inputTokens: 450,
      outputTokens: 70,
      latencyMs: 541,
      simulated: false,
    });
    expect(summary.total.costUsd).toBeCloseTo(0.00022, 12);
  });

  it('prices FLOPs and CPU time the way the cost model says', () => {
    expect(estimateFlops(1_000_000, 50)).toBe(1e8);
    expect(cpuCostUsd(3_600_000, 0.05)).toBeCloseTo(0.05, 12);
    expect(cpuCostUsd(1800, 0.05)).toBeCloseTo(0.000025, 12);
  });

  it('renders a table with a line per stage and brick, the total, and the simulated-price note', () => {
    const meter = new CostMeter();
    meter.add({
      stage: 'decompose',
      brick: 'reference',
      usage: usage(120, 30),
      latencyMs: 1.5,
      costUsd: 0.0006,
      simulated: true,
    });
    meter.add({
      stage: 'solve',
      brick: 'students/tiny',
      usage: usage(80, 12),
      latencyMs: 2500,
      costUsd: 0.00001,
      flops: 3.2e9,
      cpuMs: 40,
    });
    const table = renderCostTable(meter.summary()).split('\n');
    expect(table[0]).toMatch(
      /^stage\s+brick\s+calls\s+in tok\s+out tok\s+latency\s+FLOPs\s+CPU\s+spent \$\s+saved \$$/,
    );
    expect(table[1]).toMatch(/^decompose\s+reference\*\s+1\s+120\s+30\s+1\.5 ms\s+-\s+-\s+0\.000600\s+0$/);
    expect(table[2]).toMatch(
      /^solve\s+students\/tiny\s+1\s+80\s+12\s+2\.50 s\s+3\.20 GFLOP\s+40\.0 ms\s+0\.000010\s+0$/,
    );
    expect(table[3]).toMatch(/^total\s+2\s+200\s+42/);
    expect(table[4]).toMatch(/simulated price/);
  });
});
