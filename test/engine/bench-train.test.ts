import { expect, it } from 'vitest';
import { run } from '../../bench/train.js';

it('bench train --quick reports MatMul peak, tokens per second, achieved GFLOP/s and MFU', async () => {
  const result = await run({ quick: true });
  for (const key of ['matmulPeakGflops', 'tokensPerSecond', 'achievedGflops', 'mfu']) {
    expect(typeof result[key]).toBe('number');
    expect(result[key] as number).toBeGreaterThan(0);
  }
  expect(result.achievedGflops as number).toBeLessThan((result.matmulBestGflops as number) * 2);
  const [mixture] = result.mixtureOfExperts as Array<{
    ratio: number;
    mixture: { params: number };
    dense: { params: number };
  }>;
  expect(mixture.ratio).toBeGreaterThan(0);
  expect(mixture.mixture.params).toBeGreaterThan(mixture.dense.params); // 4 half-width experts: 2× the MLP weights
  const quickstart = result.quickstart as {
    plannedK: number;
    orderFreeK: number;
    step: { tokensPerSecond: number; achievedGflops: number };
    deterministicOverStep: number;
    stepOverOrderFreeK: number;
    dataParallel: { tokensPerSecond: number };
    dataParallelOverStep: number;
  };
  expect(quickstart.step.tokensPerSecond).toBeGreaterThan(0);
  expect(quickstart.plannedK).toBeLessThanOrEqual(quickstart.orderFreeK); // the planned K is never looser
  expect(quickstart.deterministicOverStep).toBeGreaterThan(0);
  expect(quickstart.stepOverOrderFreeK).toBeGreaterThan(0);
  expect(quickstart.dataParallel.tokensPerSecond).toBeGreaterThan(0); // two gradient workers trained
  expect(quickstart.dataParallelOverStep).toBeGreaterThan(0);
});
