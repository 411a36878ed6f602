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
});
