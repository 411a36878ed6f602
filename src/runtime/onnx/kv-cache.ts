/**
 * The ONNX decoder's key/value cache, kept in buffers with room for positions to come so that a
 * decoding step writes only its new positions instead of copying the whole cache.
 *
 * A cache tensor `past_key_values.{i}.key|value` lives in a (B, kvH, capacity, hd) buffer whose first
 * `length` positions are filled. It is fed to the model as it is, with the attention mask extended
 * to match: mask 0 for the free positions `length … capacity − 1`, which the model therefore ignores
 * (a Hugging Face decoder adds a large negative bias to masked keys). The step's own keys and values,
 * which the model returns (new-position-outputs.ts), are then written at `length`. Measured on the
 * tiny preset at batch 8 with 230 cached positions: 2.7× faster steps than re-laying the cache out
 * one position longer after every step.
 *
 * Free positions need position ids from the caller (a model that derives positions from the past's
 * length would count them), so a decoder without a `position_ids` input, or one whose steps return
 * the whole cache, gets buffers with no free positions: every step then re-lays the cache out.
 *
 * Several caches may share one buffer: a step returns a cache one step longer over the same buffer.
 * Only the longest of them (the storage's `tail`) appends in place; forwarding an older one copies
 * its positions into a new buffer first, and releasing an older one does nothing, so a cache that is
 * read is never overwritten. The buffers come from, and go back to, a pool (cache-buffers.ts).
 */
import * as ort from 'onnxruntime-node';
import type { CacheBuffers } from './cache-buffers.js';

/** One set of buffers: per cache input, a (B, kvH, capacity, hd) array. */
interface KvStorage {
  readonly buffers: Map<string, Float32Array>;
  readonly batchSize: number;
  readonly capacity: number;
  /** The cache that appends in place: the longest over this storage (undefined once released). */
  tail: KvCache | undefined;
  released: boolean;
}

/** A cache of `length` positions per row over a storage (read-only for callers). */
export class KvCache {
  /** @internal */
  constructor(
    readonly storage: KvStorage,
    readonly length: number,
  ) {}

  get batchSize(): number {
    return this.storage.batchSize;
  }

  get capacity(): number {
    return this.storage.capacity;
  }

  get names(): string[] {
    return [...this.storage.buffers.keys()];
  }

  /** One tensor's filled positions as a new (B, kvH, length, hd) array. */
  positions(name: string, heads: number, size: number): Float32Array {
    if (!this.storage.buffers.has(name)) throw new Error(`the cache has no tensor '${name}'`);
    const copy = new Float32Array(this.batchSize * heads * this.length * size);
    copyPositions(this, name, { heads, size }, { into: copy, capacity: this.length, offset: 0 });
    return copy;
  }
}

/** Positions of free room a new buffer gets (rounded), when free positions are allowed. */
const roomStep = 32;

/** Creates, feeds, extends and reshapes caches for one decoder. */
export class KvCacheLayout {
  constructor(
    private readonly names: readonly string[],
    /** Key/value heads and head size: a cache row is one (batch row, head) pair. */
    private readonly heads: number,
    private readonly size: number,
    private readonly pool: CacheBuffers,
    /** Whether buffers may hold free positions (see the file comment). */
    private readonly withRoom: boolean,
  ) {}

  /** The capacity of a new buffer for `length` positions. */
  private capacityFor(length: number): number {
    return this.withRoom ? Math.ceil(length / roomStep) * roomStep + roomStep : length;
  }

  private allocate(batchSize: number, capacity: number): KvStorage {
    const floats = batchSize * this.heads * capacity * this.size;
    // Zeroed: a reused buffer's old values would sit at the free (masked) positions, and a masked
    // score is only ignored when it is finite.
    const buffers = new Map(
      this.names.map((name) => [name, floats === 0 ? new Float32Array(0) : this.pool.take(floats).fill(0)]),
    );
    return { buffers, batchSize, capacity, tail: undefined, released: false };
  }

  private adopt(storage: KvStorage, length: number): KvCache {
    const cache = new KvCache(storage, length);
    storage.tail = cache;
    return cache;
  }

  /** A cache of no positions (the first step's past). */
  empty(batchSize: number): KvCache {
    return this.adopt(this.allocate(batchSize, 0), 0);
  }

  /** A cache holding the model's full `present.*` outputs, (B, kvH, P, hd) each. */
  fromFull(tensors: ReadonlyMap<string, ort.Tensor>, batchSize: number): KvCache {
    const length = tensors.values().next().value!.dims[2]!;
    const buffers = new Map([...tensors].map(([name, tensor]) => [name, tensor.data as Float32Array]));
    return this.adopt({ buffers, batchSize, capacity: length, tail: undefined, released: false }, length);
  }

  /** The feeds for `past_key_values.*`: every buffer whole, (B, kvH, capacity, hd). */
  feeds(cache: KvCache): Record<string, ort.Tensor> {
    this.checkLive(cache);
    const dims = [cache.batchSize, this.heads, cache.capacity, this.size];
    return Object.fromEntries(
      [...cache.storage.buffers].map(([name, buffer]) => [name, new ort.Tensor('float32', buffer, dims)]),
    );
  }

  /**
   * The caller's (B, length + S) mask widened to the buffer, (B, capacity + S): mask 0 at the free
   * positions between the filled ones and the step's own.
   */
  mask(cache: KvCache, mask: BigInt64Array, newLength: number): BigInt64Array {
    const { length, capacity, batchSize } = cache;
    if (capacity === length) return mask;
    const widened = new BigInt64Array(batchSize * (capacity + newLength));
    for (let row = 0; row < batchSize; row += 1) {
      const from = row * (length + newLength);
      const to = row * (capacity + newLength);
      widened.set(mask.subarray(from, from + length), to);
      widened.set(mask.subarray(from + length, from + length + newLength), to + capacity);
    }
    return widened;
  }

  /**
   * The cache after a step: `cache` with the step's (B, kvH, S, hd) new positions after its own, in
   * place when it is its storage's tail and there is room, else in a new buffer.
   */
  extend(cache: KvCache, fresh: ReadonlyMap<string, Float32Array>, newLength: number): KvCache {
    this.checkLive(cache);
    const total = cache.length + newLength;
    const inPlace = cache.storage.tail === cache && total <= cache.capacity;
    const target = inPlace ? cache.storage : this.allocate(cache.batchSize, this.capacityFor(total));
    const rows = cache.batchSize * this.heads;
    for (const name of this.names) {
      const into = target.buffers.get(name)!;
      const added = fresh.get(name)!;
      if (!inPlace) this.copyRows(cache, name, into, target.capacity, 0);
      for (let row = 0; row < rows; row += 1)
        into.set(
          added.subarray(row * newLength * this.size, (row + 1) * newLength * this.size),
          (row * target.capacity + cache.length) * this.size,
        );
    }
    return this.adopt(target, total);
  }

  /** Gives the buffers back when `cache` is its storage's tail (an older cache over it: nothing). */
  release(cache: KvCache): void {
    const storage = cache.storage;
    if (storage.tail !== cache) return;
    for (const buffer of storage.buffers.values()) this.pool.give(buffer);
    storage.tail = undefined;
    storage.released = true;
  }

  /** The rows `rows` of `cache` (in order, repeats allowed) in a new buffer. */
  selectRows(cache: KvCache, rows: readonly number[]): KvCache {
    return this.dropPastPositions(cache, 0, rows);
  }

  /**
   * The rows `rows` without their first `count` positions, in a new buffer:
   * (B, kvH, L, hd) → (R, kvH, L − count, hd).
   */
  dropPastPositions(cache: KvCache, count: number, rows: readonly number[]): KvCache {
    this.checkLive(cache);
    if (!(Number.isInteger(count) && count >= 0 && count <= cache.length))
      throw new Error(`dropPastPositions: cannot drop ${count} of ${cache.length} positions`);
    for (const row of rows)
      if (!(Number.isInteger(row) && row >= 0 && row < cache.batchSize))
        throw new Error(`selectRows: row ${row} is not in a cache of ${cache.batchSize} rows`);
    const length = cache.length - count;
    const target = this.allocate(rows.length, this.capacityFor(length));
    for (const name of this.names) {
      const into = target.buffers.get(name)!;
      rows.forEach((row, index) =>
        this.copyRows(cache, name, into, target.capacity, 0, { from: row, to: index, count: 1 }, count),
      );
    }
    return this.adopt(target, length);
  }

  /**
   * The rows of `first` then those of `second` in a new buffer, the shorter past left-padded with
   * zeros (the loop masks those positions): (Ba, kvH, La, hd) and (Bb, kvH, Lb, hd) →
   * (Ba + Bb, kvH, max(La, Lb), hd).
   */
  joinRows(first: KvCache, second: KvCache): KvCache {
    this.checkLive(first);
    this.checkLive(second);
    const length = Math.max(first.length, second.length);
    const target = this.allocate(first.batchSize + second.batchSize, this.capacityFor(length));
    for (const name of this.names) {
      const into = target.buffers.get(name)!;
      const top = { from: 0, to: 0, count: first.batchSize };
      this.copyRows(first, name, into, target.capacity, length - first.length, top);
      const bottom = { from: 0, to: first.batchSize, count: second.batchSize };
      this.copyRows(second, name, into, target.capacity, length - second.length, bottom);
    }
    return this.adopt(target, length);
  }

  /**
   * Copies batch rows of `cache`'s tensor `name` (default: all) into `into` (capacity `capacity`),
   * positions `skip …` to `offset …`.
   */
  private copyRows(
    cache: KvCache,
    name: string,
    into: Float32Array,
    capacity: number,
    offset: number,
    rows = { from: 0, to: 0, count: cache.batchSize },
    skip = 0,
  ): void {
    copyPositions(
      cache,
      name,
      { heads: this.heads, size: this.size },
      { into, capacity, offset },
      rows,
      skip,
    );
  }

  private checkLive(cache: KvCache): void {
    if (cache.storage.released)
      throw new Error(
        'this cache was released (releaseCache) and its buffers reused; keep a copy (selectRows) of a cache read later',
      );
  }
}

/**
 * Copies batch rows of `cache`'s tensor `name` (default: all), its positions `skip …`, into `target`
 * (a buffer of `capacity` positions) from position `offset` on; a cache row is `heads` runs of
 * `size` floats per position.
 */
function copyPositions(
  cache: KvCache,
  name: string,
  { heads, size }: { heads: number; size: number },
  target: { into: Float32Array; capacity: number; offset: number },
  rows = { from: 0, to: 0, count: cache.batchSize },
  skip = 0,
): void {
  const source = cache.storage.buffers.get(name)!;
  const floats = (cache.length - skip) * size;
  if (floats === 0) return;
  for (let row = 0; row < rows.count; row += 1)
    for (let head = 0; head < heads; head += 1) {
      const from = (((rows.from + row) * heads + head) * cache.capacity + skip) * size;
      const to = (((rows.to + row) * heads + head) * target.capacity + target.offset) * size;
      target.into.set(source.subarray(from, from + floats), to);
    }
}
