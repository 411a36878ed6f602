import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/engine/session.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { routerWeightName } from '../../src/student/moe-config.js';
import { RoutingMetrics } from '../../src/student/moe-metrics.js';
import { mixture, nanoArchitecture, tokens } from './moe-fixture.js';

const [rows, length] = [2, 16];

function batch(real: number[]) {
  const ids = [...tokens(length, 1), ...tokens(length, 2)];
  // Row 0: two documents then padding; row 1: `real[1]` tokens of one document.
  const segments = [
    ...Array.from({ length }, (_, index) => (index < 5 ? 1 : index < real[0] ? 2 : 0)),
    ...Array.from({ length }, (_, index) => (index < real[1] ? 1 : 0)),
  ];
  return {
    input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [rows, length]),
    segment_ids: tensor('int64', BigInt64Array.from(segments.map(BigInt)), [rows, length]),
  };
}

describe('routing metrics', () => {
  it('a zero router: uniform probabilities (entropy log E), every token to expert 0 (TopK takes the lower index of ties)', async () => {
    const architecture = await nanoArchitecture(mixture(4, 1));
    const weights = initializeWeights({ ...architecture, initializerRange: 0.2 }, 1);
    for (let layer = 0; layer < 2; layer += 1) weights.get(routerWeightName(layer))!.fill(0);
    const metrics = (await RoutingMetrics.create(architecture, rows, length))!;
    const routing = await metrics.measure(weights, [batch([12, 9])]);
    expect(routing.map((layer) => layer.layer)).toEqual([0, 1]);
    for (const layer of routing) {
      expect(layer.shares).toEqual([1, 0, 0, 0]);
      expect(layer.entropy).toBeCloseTo(Math.log(4), 5);
      expect(layer.utilization).toBeCloseTo(0.25, 10);
    }
    await metrics.release();
  });

  it('a random router: shares sum to 1 over the real tokens, entropy below log E, utilization within [1/E, 1]', async () => {
    const architecture = await nanoArchitecture(mixture(4, 2, { layers: [1] }));
    const weights = initializeWeights({ ...architecture, initializerRange: 0.5 }, 2);
    const metrics = (await RoutingMetrics.create(architecture, rows, length))!;
    const [layer] = await metrics.measure(weights, [batch([12, 9]), batch([16, 3])]);
    expect(layer.layer).toBe(1);
    expect(layer.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // top-2 of 4: every token fills 2 slots; (12 + 9 + 16 + 3) tokens give multiples of 1/80.
    for (const share of layer.shares)
      expect(Math.abs(share * 80 - Math.round(share * 80))).toBeLessThan(1e-4);
    expect(layer.entropy).toBeGreaterThan(0);
    expect(layer.entropy).toBeLessThan(Math.log(4));
    expect(layer.utilization).toBeGreaterThanOrEqual(0.25);
    expect(layer.utilization).toBeLessThanOrEqual(1);
    await metrics.release();
  });

  it('is absent for a dense student', async () => {
    expect(await RoutingMetrics.create(await nanoArchitecture(), rows, length)).toBeUndefined();
  });
});
