import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff.js';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { EngineSession, tensor } from '../../src/engine/session.js';

describe('gradients', () => {
  it('throws at build time naming an op without a gradient rule', () => {
    const g = new Graph();
    const w = g.input('w', 'float32', [3]);
    const [floored] = g.addNode('Floor', [w], [{ dataType: 'float32', shape: [3] }]);
    const loss = g.sumAll(floored);
    expect(() => gradients(g, loss, [w])).toThrow(/no gradient rule for op 'Floor'/);
  });

  it('ignores ops without rules that are off the path to the parameters', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    const w = g.input('w', 'float32', [3]);
    const [floored] = g.addNode('Floor', [x], [{ dataType: 'float32', shape: [3] }]);
    const loss = g.sumAll(g.mul(floored, w));
    const [dw] = gradients(g, loss, [w]);
    g.output(dw, 'dw');
    const session = await EngineSession.create(serializeGraph(g));
    const out = await session.run({
      x: tensor('float32', Float32Array.from([1.5, -0.5, 2.7]), [3]),
      w: tensor('float32', new Float32Array(3), [3]),
    });
    expect(Array.from(out.dw.data as Float32Array)).toEqual([1, -1, 2]);
  });

  it('rejects a parameter the loss does not depend on', () => {
    const g = new Graph();
    const w = g.input('w', 'float32', [3]);
    const unused = g.input('unused', 'float32', [3]);
    expect(() => gradients(g, g.sumAll(w), [w, unused])).toThrow(
      /parameter 'unused' does not affect the loss/,
    );
  });

  it('differentiates through symbolic batch dimensions', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['B', 'T', 2]); // (B, T, 2)
    const w = g.input('w', 'float32', [2, 3]); // (2, 3)
    const bias = g.input('bias', 'float32', [3]); // (3)
    const y = g.add(g.matmul(x, w), bias); // (B, T, 3)
    const loss = g.reduceMean(g.reshape(y, [-1]), [0]); // ()
    const [dw, dBias] = gradients(g, loss, [w, bias]);
    g.output(dw, 'dw');
    g.output(dBias, 'dBias');
    const session = await EngineSession.create(serializeGraph(g));
    const out = await session.run({
      x: tensor('float32', new Float32Array(2 * 5 * 2).fill(1), [2, 5, 2]),
      w: tensor('float32', new Float32Array(6), [2, 3]),
      bias: tensor('float32', new Float32Array(3), [3]),
    });
    // loss = mean over 30 outputs; each output has x = 1 so d/dw = 10 rows × 1 / 30.
    for (const value of out.dw.data as Float32Array) expect(value).toBeCloseTo(1 / 3, 6);
    for (const value of out.dBias.data as Float32Array) expect(value).toBeCloseTo(1 / 3, 6);
  });
});
