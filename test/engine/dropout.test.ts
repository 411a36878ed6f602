import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff.js';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { EngineSession, tensor } from '../../src/engine/session.js';
import { checkGradients } from './gradient-check.js';

/**
 * Dropout is random, so finite differences cannot check it at p > 0: the rule is checked with
 * ratio 0 (the identity, where finite differences apply), and at p > 0 against the mask the same run
 * returned (dx must be dy · mask / (1 − p) entry by entry).
 */
async function runDropout(
  values: Float32Array,
  ratio: number,
  seed: number,
): Promise<{ output: Float32Array; mask: boolean[]; gradient: Float32Array; upstream: Float32Array }> {
  const graph = new Graph('dropout_check', true);
  const x = graph.input('x', 'float32', [values.length]);
  const upstream = Float32Array.from(values, (_, index) => ((index % 7) - 3) / 3);
  const weights = graph.constant('float32', [values.length], upstream);
  const { output, mask } = graph.dropout(x, ratio, seed);
  const loss = graph.sumAll(graph.mul(output, weights));
  const [gradient] = gradients(graph, loss, [x]);
  graph.output(output, 'output');
  graph.output(mask, 'mask');
  graph.output(gradient, 'gradient');
  const session = await EngineSession.create(serializeGraph(graph));
  const result = await session.run({ x: tensor('float32', values, [values.length]) });
  return {
    output: result.output.data as Float32Array,
    mask: Array.from(result.mask.data as ArrayLike<boolean | number>, Boolean),
    gradient: result.gradient.data as Float32Array,
    upstream,
  };
}

describe('Dropout (ONNX opset 13, training mode)', () => {
  it('ratio 0 is the identity and its gradient passes finite differences', async () => {
    const result = await checkGradients({
      inputs: [{ name: 'a', shape: [3, 4] }],
      build: (g, [a]) => g.dropout(a, 0, 11).output,
    });
    expect(result.maxRelativeError).toBeLessThan(1e-6);
    const values = Float32Array.from({ length: 64 }, (_, index) => Math.sin(index));
    const { output, gradient, upstream } = await runDropout(values, 0, 3);
    expect(Array.from(output)).toEqual(Array.from(values));
    expect(Array.from(gradient)).toEqual(Array.from(upstream));
  });

  it('keeps a share ≈ 1 − p, scales the kept entries by 1 / (1 − p), and keeps the mean', async () => {
    const p = 0.3;
    const count = 200_000;
    const values = new Float32Array(count).fill(1);
    const { output, mask, gradient, upstream } = await runDropout(values, p, 5);
    const keptShare = mask.filter(Boolean).length / count;
    expect(Math.abs(keptShare - (1 - p))).toBeLessThan(0.01); // σ ≈ 0.001
    const mean = output.reduce((sum, value) => sum + value, 0) / count;
    expect(Math.abs(mean - 1)).toBeLessThan(0.015);
    for (let index = 0; index < count; index += 997) {
      const expected = mask[index] ? 1 / (1 - p) : 0;
      expect(output[index]).toBeCloseTo(expected, 5);
      expect(gradient[index]).toBeCloseTo(upstream[index] * expected, 5);
    }
  });

  it('the same seed gives the same mask; another seed another one', async () => {
    const values = Float32Array.from({ length: 4096 }, (_, index) => index + 1);
    const first = await runDropout(values, 0.5, 9);
    const again = await runDropout(values, 0.5, 9);
    const other = await runDropout(values, 0.5, 10);
    expect(again.mask).toEqual(first.mask);
    expect(other.mask).not.toEqual(first.mask);
  });
});
