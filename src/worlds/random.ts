/**
 * The worlds' one source of randomness: pure-rand's xoroshiro128+ with uniform integers, so
 * every generated knowledge base and question set is reproducible from its seed on any
 * platform (Math.random cannot be seeded).
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export class Random {
  private readonly generator: RandomGenerator;

  constructor(seed: number) {
    this.generator = xoroshiro128plus(seed | 0);
  }

  /** An integer in [minimum, maximum], both included. */
  integer(minimum: number, maximum: number): number {
    return uniformInt(this.generator, minimum, maximum);
  }

  /** True with the given probability. */
  chance(probability: number): boolean {
    return this.integer(0, 999_999) < probability * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('cannot pick from an empty list');
    return items[this.integer(0, items.length - 1)] as T;
  }

  /** Picks by weight; weights need not sum to one. */
  pickWeighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = (this.integer(0, 999_999) / 1_000_000) * total;
    for (const [value, weight] of entries) {
      if (roll < weight) return value;
      roll -= weight;
    }
    return (entries[entries.length - 1] as readonly [T, number])[0];
  }
}

/**
 * Mixes a seed with a label (world, split, purpose) into a 32-bit seed, so that streams for
 * different purposes never coincide. FNV-1a, hand-written because it must be synchronous,
 * tiny and stable across Node versions; it is not used for security.
 */
export function deriveSeed(seed: number, label: string): number {
  let hash = 0x811c9dc5 ^ (seed | 0);
  for (let index = 0; index < label.length; index += 1) {
    hash ^= label.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= Math.imul(seed | 0, 0x9e3779b1);
  return hash | 0;
}
