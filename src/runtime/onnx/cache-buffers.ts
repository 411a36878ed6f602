/**
 * Reusable Float32Arrays for a decoder's KV cache (kv-cache.ts). A cache takes a new buffer when it
 * outgrows its room, and when rows are selected, joined or trimmed; allocating each fresh (as
 * onnxruntime-node does for every output) makes V8 collect garbage under "external memory pressure"
 * every few dozen steps. Here a cache takes an array at least as long as it needs (a view of a
 * pooled buffer) and the generation loop gives the arrays it no longer reads back through
 * `DecoderModel.releaseCache`.
 *
 * Only buffers this pool handed out are taken back, each at most once while it is out; a buffer the
 * pool does not keep (beyond `maxFreeBuffers`) is left to the garbage collector.
 */
export class CacheBuffers {
  private readonly free: Float32Array[] = [];
  /** Buffers handed out and not given back yet. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(
    /** Free buffers kept for reuse; more given back are left to the garbage collector. */
    private readonly maxFreeBuffers: number,
  ) {}

  /** A zero-offset view of exactly `length` floats over a pooled buffer (contents undefined). */
  take(length: number): Float32Array {
    let best = -1;
    for (let index = 0; index < this.free.length; index += 1) {
      const size = this.free[index]!.length;
      if (size >= length && (best < 0 || size < this.free[best]!.length)) best = index;
    }
    const buffer = best >= 0 ? this.free.splice(best, 1)[0]! : new Float32Array(roomFor(length));
    this.lent.add(buffer.buffer as ArrayBuffer);
    return buffer.subarray(0, length);
  }

  /** Gives back an array `take` returned; anything else (or a second give) is ignored. */
  give(array: Float32Array): void {
    const buffer = array.buffer as ArrayBuffer;
    if (!this.lent.has(buffer)) return;
    this.lent.delete(buffer);
    const returned = new Float32Array(buffer);
    if (this.free.length < this.maxFreeBuffers) {
      this.free.push(returned);
      return;
    }
    // Full: keep the larger buffers (a growing cache needs them; a small one is cheap to make again).
    let smallest = 0;
    for (let index = 1; index < this.free.length; index += 1)
      if (this.free[index]!.length < this.free[smallest]!.length) smallest = index;
    if (this.free[smallest]!.length < returned.length) this.free[smallest] = returned;
  }

  /** Floats held in free buffers (for tests). */
  get freeFloats(): number {
    return this.free.reduce((sum, buffer) => sum + buffer.length, 0);
  }
}

/**
 * The floats asked for rounded up to a power of two, so that buffers of nearby sizes serve each other
 * (a cache's own room for the positions to come is kv-cache.ts's: doubling here as well would hold up
 * to 4× the cache in memory).
 */
function roomFor(length: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1024, length)));
}
