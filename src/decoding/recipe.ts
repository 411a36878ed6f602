/**
 * A decoding recipe: task-specific decoding (constraints, biases, a reranker) as a named,
 * versioned unit, kept out of the generic generation loop. The trainer fits a recipe's data
 * (`fit`), `dnc export --decoding ID` (or a pipeline's `decoding`) records it in brick.json as
 * `decoding.recipe: { id, version }` beside its settings and fitted data, and a brick built from
 * that manifest asks the recipe for its logits processors and its reranker (`prepare`).
 * Recipes are off unless a brick or pipeline turns them on.
 */
import type { BrickDecoding } from '../bricks/brick-manifest.js';
import type { ParsedSubquestions } from '../prompts/index.js';
import type { LogitsProcessor } from './logits-processor.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** A question and its teacher answer, as the trainer decodes them from the training documents. */
export interface TrainingPair {
  question: string;
  answer: string;
}

/** What the trainer fits for the recipes (recorded in the checkpoint manifest). */
export interface FittedDecodingData {
  answerTerms: string[];
  answerAssociations: Record<string, string[]>;
}

/**
 * A recipe's reranker for decompositions: the faults that make a greedy output unusable, and the
 * processors that lean replacement samples away from them.
 */
export interface DecompositionReranker {
  /** How many samples to draw when the greedy output has a fault. */
  readonly samples: number;
  faults(question: string, parsed: ParsedSubquestions): string[];
  /** Extra processors for the replacement samples (for example towards names left out). */
  resampleProcessors(question: string, parsed: ParsedSubquestions): LogitsProcessor[];
}

/** A recipe bound to one brick's settings and tokenizer. */
export interface PreparedRecipe {
  /** `id@version`, what caches and reports name. */
  readonly key: string;
  /** Fresh processors for one call (some keep per-prompt state). */
  processors(): LogitsProcessor[];
  readonly reranker: DecompositionReranker | undefined;
}

export interface DecodingRecipe {
  readonly id: string;
  /** Bumped whenever a change alters outputs: brick-call caches key local calls by it. */
  readonly version: number;
  readonly description: string;
  /** The settings `--decoding ID` turns on (brick.json may override each). */
  readonly defaults: Omit<BrickDecoding, 'recipe'>;
  /** The trainer's step: what the recipe learns from the training pairs. */
  fit(pairs: readonly TrainingPair[]): FittedDecodingData;
  /** Fills the settings' fitted fields (known terms, associations) from the trainer's data. */
  withFittedData(settings: BrickDecoding, fitted: Partial<FittedDecodingData>): BrickDecoding;
  /** Builds the brick's processors and reranker; throws one clear line when it cannot apply. */
  prepare(settings: BrickDecoding, tokenizer: Tokenizer): PreparedRecipe;
}
