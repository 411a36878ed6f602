/**
 * Samplers turn one processed row of scores into the next token. Greedy takes the arg-max;
 * multinomial draws from the softmax with a seeded generator, so a seed reproduces a run.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { softmax } from './logits-processors.js';

export interface Sampler {
  readonly name: string;
  sample(logits: Float32Array): number;
}

/** The highest score; the lowest id wins a tie, so the choice is deterministic. */
export class GreedySampler implements Sampler {
  readonly name = 'greedy';
  sample(logits: Float32Array): number {
    let best = 0;
    for (let index = 1; index < logits.length; index += 1) if (logits[index] > logits[best]) best = index;
    if (logits[best] === -Infinity) throw new Error('every token is masked: no token can be chosen');
    return best;
  }
}

/** Draws a token with probability softmax(scores), from a generator seeded once per run. */
export class MultinomialSampler implements Sampler {
  readonly name = 'multinomial';
  private readonly random: ReturnType<typeof xoroshiro128plus>;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`the sampling seed must be an integer, got ${seed}`);
    this.random = xoroshiro128plus(seed);
  }

  sample(logits: Float32Array): number {
    const probabilities = softmax(logits);
    const draw = uniformFloat64(this.random);
    let cumulative = 0;
    let last = 0;
    for (let index = 0; index < probabilities.length; index += 1) {
      if (probabilities[index] === 0) continue;
      cumulative += probabilities[index];
      last = index;
      if (draw < cumulative) return index;
    }
    return last; // rounding left the draw just above the total mass
  }
}
