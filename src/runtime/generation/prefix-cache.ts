/**
 * Prefix caching: the model's cache after a prompt prefix that many calls share (a brick's system
 * prompt and chat template, most of a decompose prompt), computed once and kept, so that each call
 * prefills only what follows it. By causality the cached positions are what a full prefill would
 * compute for them; only the rounding of the remaining positions' products can differ.
 *
 * Entries are keyed by their tokens and forgotten least recently used; a prefix asked for while it is
 * being computed waits for that run instead of starting another.
 */
import type { DecoderModel } from './decoder-model.js';
import type { PromptPrefix } from './generation-options.js';

export interface PrefixCacheOptions {
  /** Prefixes kept (default 4). */
  capacity?: number;
  /** Shorter prefixes are not worth a cache entry (default 8 tokens). */
  minTokens?: number;
}

export class PrefixCache<Cache> {
  private readonly entries = new Map<string, Promise<Cache>>();
  private readonly capacity: number;
  private readonly minTokens: number;
  /** Prefixes run through the model so far (for tests and metrics). */
  computed = 0;

  constructor(
    private readonly model: DecoderModel<Cache>,
    options: PrefixCacheOptions = {},
  ) {
    this.capacity = options.capacity ?? 4;
    this.minTokens = options.minTokens ?? 8;
    if (!Number.isInteger(this.capacity) || this.capacity < 1)
      throw new Error(`a prefix cache holds at least one prefix, got capacity ${this.capacity}`);
  }

  /**
   * The prefix for `generate`'s `prefix` option, its cache computed now if it is not kept yet;
   * undefined when the model cannot copy cache rows or the prefix is too short to be worth it.
   */
  async prefix(tokens: readonly number[]): Promise<PromptPrefix | undefined> {
    if (this.model.selectRows === undefined || tokens.length < this.minTokens) return undefined;
    if (tokens.some((token) => !Number.isInteger(token) || token < 0 || token >= this.model.vocabSize))
      throw new Error(`a prompt prefix holds a token outside the vocabulary [0, ${this.model.vocabSize})`);
    const key = tokens.join(',');
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = this.compute(tokens);
      entry.catch(() => this.entries.delete(key));
      this.entries.set(key, entry);
      this.evict();
    } else {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return { tokens: [...tokens], cache: await entry };
  }

  /**
   * Drops every kept prefix. Their caches are not released to the model: a generation handed one may
   * not have copied it yet (a model that reuses released buffers would overwrite it); garbage
   * collection frees them.
   */
  async clear(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries);
  }

  private async compute(tokens: readonly number[]): Promise<Cache> {
    const length = tokens.length;
    const output = await this.model.forward(
      {
        inputIds: BigInt64Array.from(tokens, BigInt),
        positionIds: BigInt64Array.from({ length }, (_, position) => BigInt(position)),
        attentionMask: new BigInt64Array(length).fill(1n),
        batchSize: 1,
        length,
        pastLength: 0,
      },
      undefined,
    );
    this.computed += 1;
    return output.cache;
  }

  /**
   * Forgets the least recently used prefixes beyond the capacity. Their caches are not released here:
   * a generation that has just been handed one may not have copied it yet (garbage collection frees it).
   */
  private evict(): void {
    while (this.entries.size > this.capacity) {
      const [oldest] = this.entries.keys();
      this.entries.delete(oldest);
    }
  }
}

/** The longest common prefix of token lists. */
export function commonPrefix(lists: readonly (readonly number[])[]): number[] {
  if (lists.length === 0) return [];
  const [first, ...rest] = lists;
  let length = first.length;
  for (const list of rest) {
    let index = 0;
    while (index < length && index < list.length && list[index] === first[index]) index += 1;
    length = index;
  }
  return first.slice(0, length);
}
