import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelProtoType } from '../../src/engine/onnx-schema.js';
import { generate } from '../../src/runtime/generation/generate.js';
import { CacheBuffers } from '../../src/runtime/onnx/cache-buffers.js';
import { KvCacheLayout } from '../../src/runtime/onnx/kv-cache.js';
import { OnnxDecoderModel, type OnnxCache } from '../../src/runtime/onnx/onnx-decoder.js';
import { makeNanoBrick, nanoPrompts, type BrickFixture } from '../export/brick-fixture.js';
import { int64, maxDifference, promptBatch, stepBatch } from './decoder-steps.js';

let fixture: BrickFixture;
let withRoom: OnnxDecoderModel;
let withoutRoom: OnnxDecoderModel;

beforeAll(async () => {
  fixture = await makeNanoBrick('solver');
  withRoom = await OnnxDecoderModel.load(fixture.brickDirectory);
  withoutRoom = await OnnxDecoderModel.load(fixture.brickDirectory, { cacheRoom: false });
});

afterAll(async () => {
  await withRoom?.close();
  await withoutRoom?.close();
});

const positions = (model: OnnxDecoderModel, cache: OnnxCache, name = 'past_key_values.1.value') =>
  cache.positions(name, model.config.keyValueHeads, model.config.headDimension);

describe('KV cache with room', () => {
  it("is used for dnc's exported decoder, whose present.* and full logits are left out of the session", () => {
    expect(withRoom.cacheRoom).toBe(true);
    expect(withRoom.cacheOutputsDropped).toBe(true);
    const outputs: readonly string[] = withRoom['session'].outputNames;
    expect(outputs.some((name) => name.startsWith('present.'))).toBe(false);
    // The head runs on each row's last position only: the full (B, S, V) logits are left out too.
    expect(outputs).not.toContain('logits');
    expect(withoutRoom['session'].outputNames).not.toContain('logits');
    expect(withoutRoom.cacheRoom).toBe(false);
  });

  it('writes a step into the buffer it was given while there is room, then grows into a new one', async () => {
    const prompt = nanoPrompts[0]!;
    let ours = await withRoom.forward(promptBatch(prompt), undefined);
    let theirs = await withoutRoom.forward(promptBatch(prompt), undefined);
    const first = ours.cache;
    expect(first.length).toBe(prompt.length);
    expect(first.capacity).toBeGreaterThan(prompt.length);
    let grew = 0;
    for (let past = prompt.length; past < prompt.length + 70; past += 1) {
      const before = ours.cache;
      ours = await withRoom.forward(stepBatch(9, past), before);
      theirs = await withoutRoom.forward(stepBatch(9, past), theirs.cache);
      if (ours.cache.storage === before.storage) expect(ours.cache.capacity).toBe(before.capacity);
      else grew += 1;
      expect(ours.cache.length).toBe(past + 1);
      expect(maxDifference(ours.logits, theirs.logits)).toBeLessThan(1e-4);
      expect(
        maxDifference(positions(withRoom, ours.cache), positions(withoutRoom, theirs.cache)),
      ).toBeLessThan(1e-5);
    }
    // 8 prompt positions get a buffer of 64; 70 steps outgrow it once, into one of 128.
    expect(first.capacity).toBe(64);
    expect(grew).toBe(1);
    expect(ours.cache.capacity).toBe(128);
    expect(theirs.cache.capacity).toBe(theirs.cache.length);
  });

  it('forwarding an older cache again copies it, leaving the newer one intact', async () => {
    const prompt = nanoPrompts[2]!;
    const older = (await withRoom.forward(promptBatch(prompt), undefined)).cache;
    const newer = await withRoom.forward(stepBatch(9, prompt.length), older);
    expect(newer.cache.storage).toBe(older.storage);
    const kept = positions(withRoom, newer.cache);
    const branch = await withRoom.forward(stepBatch(11, prompt.length), older);
    expect(branch.cache.storage).not.toBe(older.storage);
    expect(positions(withRoom, newer.cache)).toEqual(kept);
    // The branch saw token 11 where the newer cache saw 9: its last position differs, the rest agrees.
    const heads = withRoom.config.keyValueHeads;
    const size = withRoom.config.headDimension;
    const branched = positions(withRoom, branch.cache);
    const lastOf = (array: Float32Array, head: number) =>
      array.subarray(((head + 1) * (prompt.length + 1) - 1) * size, (head + 1) * (prompt.length + 1) * size);
    for (let head = 0; head < heads; head += 1)
      expect(lastOf(branched, head)).not.toEqual(lastOf(kept, head));
    const again = await withRoom.forward(stepBatch(9, prompt.length), older);
    expect(again.logits).toEqual(newer.logits);
  });

  it('ignores the release of an older cache and refuses to read a released one', async () => {
    const prompt = nanoPrompts[1]!;
    const older = (await withRoom.forward(promptBatch(prompt), undefined)).cache;
    const newer = (await withRoom.forward(stepBatch(9, prompt.length), older)).cache;
    withRoom.releaseCache(older);
    const step = await withRoom.forward(stepBatch(10, prompt.length + 1), newer);
    withRoom.releaseCache(step.cache);
    await expect(withRoom.forward(stepBatch(12, prompt.length + 2), step.cache)).rejects.toThrow(
      /this cache was released \(releaseCache\) and its buffers reused; keep a copy \(selectRows\)/,
    );
    await expect(withRoom.forward(stepBatch(12, prompt.length), older)).rejects.toThrow(/was released/);
  });

  it('rejects a cache whose rows or positions do not match the batch', async () => {
    const prompt = nanoPrompts[1]!;
    const { cache } = await withRoom.forward(promptBatch(prompt), undefined);
    await expect(withRoom.forward(stepBatch(9, prompt.length + 3), cache)).rejects.toThrow(
      `the cache holds 1 rows of ${prompt.length} positions, but the batch has 1 rows after ${prompt.length + 3}`,
    );
  });

  it('generates the same tokens as a cache without room: batched, sampled, past a room boundary', async () => {
    const options = { maxNewTokens: 45, eosTokenIds: [] as number[], doSample: true, seed: 11 };
    const ours = await generate(withRoom, nanoPrompts, options);
    const theirs = await generate(withoutRoom, nanoPrompts, options);
    expect(ours.map((result) => result.tokens)).toEqual(theirs.map((result) => result.tokens));
    expect(ours.every((result) => result.tokens.length === 45)).toBe(true);
  });

  it('keeps present.* in the session when the attention reads it, and still decodes the same', async () => {
    const directory = join(fixture.root, 'present-read');
    await makePresentReadingBrick(fixture.brickDirectory, directory);
    const model = await OnnxDecoderModel.load(directory);
    try {
      expect(model.fullOutputsReason).toBeUndefined();
      expect(model.cacheOutputsDropped).toBe(false);
      const options = { maxNewTokens: 12, eosTokenIds: [] as number[] };
      const ours = await generate(model, nanoPrompts, options);
      const theirs = await generate(withoutRoom, nanoPrompts, options);
      expect(ours.map((result) => result.tokens)).toEqual(theirs.map((result) => result.tokens));
    } finally {
      await model.close();
    }
  });
});

describe('KvCacheLayout', () => {
  const layout = () => new KvCacheLayout(['k'], 1, 2, new CacheBuffers(4), true);
  const fresh = (values: number[]) => new Map([['k', Float32Array.from(values)]]);

  it('widens the mask with zeros at the free positions between the filled ones and the new ones', () => {
    const cache = layout().extend(layout().empty(2), fresh([1, 1, 2, 2, 3, 3, 4, 4]), 2);
    expect(cache.length).toBe(2);
    expect(cache.capacity).toBe(32 + 32);
    const mask = layout().mask(cache, int64([0, 1, 1, 1, 1, 1]), 1);
    const expected = (first: number[], last: number) => [...first, ...Array(62).fill(0), last];
    expect(Array.from(mask, Number)).toEqual([...expected([0, 1], 1), ...expected([1, 1], 1)]);
  });

  it('joins rows left-padded with zeros, and selects and drops positions by row', () => {
    const cacheLayout = layout();
    const top = cacheLayout.extend(cacheLayout.empty(1), fresh([1, 2, 3, 4, 5, 6]), 3); // 1 row, 3 positions
    const bottom = cacheLayout.extend(cacheLayout.empty(2), fresh([7, 8, 9, 10]), 1); // 2 rows, 1 position
    const joined = cacheLayout.joinRows(top, bottom);
    expect(joined.length).toBe(3);
    expect(Array.from(joined.positions('k', 1, 2))).toEqual([
      1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 7, 8, 0, 0, 0, 0, 9, 10,
    ]);
    const dropped = cacheLayout.dropPastPositions(joined, 2, [2, 0]);
    expect(Array.from(dropped.positions('k', 1, 2))).toEqual([9, 10, 5, 6]);
    expect(() => cacheLayout.selectRows(joined, [3])).toThrow(
      'selectRows: row 3 is not in a cache of 3 rows',
    );
    expect(() => cacheLayout.dropPastPositions(joined, 4, [0])).toThrow(
      'dropPastPositions: cannot drop 4 of 3 positions',
    );
  });
});

/** A copy of the brick where a node reads `present.0.key` (as attention does in Optimum's exports). */
async function makePresentReadingBrick(source: string, directory: string): Promise<void> {
  await cp(source, directory, { recursive: true });
  const file = join(directory, 'onnx', 'model.onnx');
  const model = modelProtoType.decode(await readFile(file)) as unknown as {
    graph: { node: object[]; output: object[] };
  };
  model.graph.node.push({ opType: 'Identity', input: ['present.0.key'], output: ['present.0.key.read'] });
  model.graph.output.push({ name: 'present.0.key.read', type: { tensorType: { elemType: 1 } } });
  await writeFile(file, modelProtoType.encode(model).finish());
}
