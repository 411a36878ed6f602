import { expect, it } from 'vitest';
import { run } from '../../bench/train.js';

it('bench train --quick reports MatMul peak, tokens per second, achieved GFLOP/s and MFU', async () => {
  const result = await run({ quick: true });
  for (const key of ['matmulPeakGflops', 'tokensPerSecond', 'achievedGflops', 'mfu']) {
    expect(typeof result[key]).toBe('number');
    expect(result[key] as number).toBeGreaterThan(0);
  }
  expect(result.achievedGflops as number).toBeLessThan((result.matmulBestGflops as number) * 2);
});
