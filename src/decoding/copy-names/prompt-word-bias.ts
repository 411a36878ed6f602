/**
 * Prompt-word bias: the tokens that start a lower-case word of the prompt gain `bias` in score
 * wherever the output starts a word.
 *
 * A decomposer's sub-questions reuse the question's wording, and the word a small student gets
 * wrong is often one it should have taken from there: the comparison of "Which has a smaller
 * population, ...?" written as "Which is larger, #1 (#2) or #3 (#4)?", or "founded after 934"
 * for "founded before 934?". The copy bias (copy-bias.ts) only continues spans the output has
 * already started, so it cannot reach a word's first token; this small prior can, and it only
 * tips choices the model is unsure of. Capitalized words are the copy constraint's business and
 * gain nothing here.
 *
 * Written by hand: no library offers logits processors for our generation loop.
 */
import { samePrefix } from './copy-constraint.js';
import type { LogitsProcessor, ProcessorContext } from '../logits-processor.js';
import { questionKeys } from './word-associations.js';

export class PromptWordBiasProcessor implements LogitsProcessor {
  readonly name = 'prompt-word-bias';
  private promptKey: readonly number[] | undefined;
  private boosted = new Set<number>();

  /**
   * `tokenTexts[id]` is the decoded text of token `id` alone. `associatedTokens` maps a question
   * key (word-associations.ts) to the first tokens of the answer words it predicts, which gain the
   * bias too when the prompt has the key.
   */
  constructor(
    private readonly tokenTexts: readonly string[],
    private readonly bias: number,
    private readonly associatedTokens: ReadonlyMap<string, readonly number[]> = new Map(),
  ) {
    if (!Number.isFinite(bias) || bias < 0)
      throw new Error(`prompt-word bias must be a number ≥ 0, got ${bias}`);
  }

  process(logits: Float32Array, context: ProcessorContext): void {
    if (this.bias === 0) return;
    const promptLength = context.tokens.length - context.generatedCount;
    this.indexPrompt(context.tokens, promptLength);
    for (const token of this.boosted) if (token < logits.length) logits[token] += this.bias;
  }

  /** The prompt's tokens that start a lower-case word (" smaller", " before"), once per prompt. */
  private indexPrompt(tokens: readonly number[], promptLength: number): void {
    if (this.promptKey !== undefined && samePrefix(this.promptKey, tokens, promptLength)) return;
    this.promptKey = tokens.slice(0, promptLength);
    this.boosted = new Set(this.promptKey.filter((token) => /^ \p{Ll}/u.test(this.tokenTexts[token] ?? '')));
    if (this.associatedTokens.size === 0) return;
    const text = this.promptKey.map((token) => this.tokenTexts[token] ?? '').join('');
    for (const key of questionKeys(text))
      for (const token of this.associatedTokens.get(key) ?? []) this.boosted.add(token);
  }
}
