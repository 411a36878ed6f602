/**
 * The logits processor contract: a small, swappable step that rewrites one row's next-token scores
 * in place before sampling (the transformers.js / Hugging Face split). Each sees the row's tokens so
 * far (prompt and generated) so that history-dependent rules fit the same shape. Recipes build
 * processors (src/decoding/*); the generation loop (src/runtime/generation) runs them, with its own
 * generic ones (temperature, top-k, top-p, repetition penalty).
 */

export interface ProcessorContext {
  /** The row's prompt followed by the tokens generated so far (no padding). */
  tokens: readonly number[];
  /** How many tokens this row has generated so far. */
  generatedCount: number;
  /** Index of the row's prompt in the caller's list (per-row parts of a batch read it). */
  row?: number;
}

export interface LogitsProcessor {
  readonly name: string;
  process(logits: Float32Array, context: ProcessorContext): void;
}
