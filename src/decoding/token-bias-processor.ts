import type { LogitsProcessor } from './logits-processor.js';

/** Adds `bias` to the listed tokens (e.g. the first pieces of names a decomposition left out). */
export class TokenBiasProcessor implements LogitsProcessor {
  readonly name = 'token-bias';
  constructor(
    private readonly tokenIds: ReadonlySet<number>,
    private readonly bias: number,
  ) {}
  process(logits: Float32Array): void {
    for (const token of this.tokenIds) if (token >= 0 && token < logits.length) logits[token] += this.bias;
  }
}
