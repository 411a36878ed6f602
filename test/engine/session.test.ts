import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { EngineSession, tensor } from '../../src/engine/session.js';

async function affineSession(): Promise<EngineSession> {
  const g = new Graph('affine');
  const x = g.input('x', 'float32', ['B', 3]); // (B, 3)
  const w = g.input('w', 'float32', [3, 2]); // (3, 2)
  g.output(g.add(g.matmul(x, w), 1), 'y'); // (B, 2)
  return EngineSession.create(serializeGraph(g), { intraOpNumThreads: 1 });
}

const ones = (count: number): Float32Array => new Float32Array(count).fill(1);

describe('EngineSession', () => {
  it('runs a serialized builder graph with a symbolic batch dimension', async () => {
    const session = await affineSession();
    const out = await session.run({
      x: tensor('float32', ones(12), [4, 3]),
      w: tensor('float32', ones(6), [3, 2]),
    });
    expect(out.y.dims).toEqual([4, 2]);
    expect(Array.from(out.y.data as Float32Array)).toEqual(new Array(8).fill(4));
  });

  it('lists missing and unexpected feed names', async () => {
    const session = await affineSession();
    await expect(
      session.run({ x: tensor('float32', ones(3), [1, 3]), bogus: tensor('float32', ones(1), [1]) }),
    ).rejects.toThrow(/missing inputs: w; unexpected inputs: bogus/);
  });

  it("reports an input's expected and actual type and dims", async () => {
    const session = await affineSession();
    await expect(
      session.run({ x: tensor('float32', ones(4), [1, 4]), w: tensor('float32', ones(6), [3, 2]) }),
    ).rejects.toThrow(/input 'x' should be float32\[B, 3\] but is float32\[1, 4\]/);
  });

  it('writes results into preallocated output tensors in place', async () => {
    const session = await affineSession();
    const target = tensor('float32', new Float32Array(4), [2, 2]);
    await session.run(
      { x: tensor('float32', ones(6), [2, 3]), w: tensor('float32', ones(6), [3, 2]) },
      { y: target },
    );
    expect(Array.from(target.data as Float32Array)).toEqual([4, 4, 4, 4]);
  });

  it('resolves symbolic reshape targets from input shapes at run time', async () => {
    const g = new Graph('reshape');
    const x = g.input('x', 'float32', ['B', 'T', 4]); // (B, T, 4)
    const rows = g.reshape(x, [-1, 4]); // (B*T, 4)
    expect(rows.shape).toEqual(['B*T', 4]);
    const back = g.reshape(g.mul(rows, 2), ['B', 'T', 2, 2]); // (B, T, 2, 2)
    g.output(back, 'y');
    const session = await EngineSession.create(serializeGraph(g));
    const out = await session.run({ x: tensor('float32', ones(24), [2, 3, 4]) });
    expect(out.y.dims).toEqual([2, 3, 2, 2]);
    expect((out.y.data as Float32Array)[5]).toBe(2);
  });
});
