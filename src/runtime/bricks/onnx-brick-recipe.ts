/**
 * The decoding recipe's wiring in an ONNX brick (the recipes themselves live in src/decoding): which
 * recipe the brick's decoding settings turn on, bound to its tokenizer, and the recipe's reranker
 * run on a greedy decomposition — rejection sampling when the greedy output has a fault.
 */
import type { BrickDecoding } from '../../bricks/brick-manifest.js';
import type { DecompositionReranker, PreparedRecipe } from '../../decoding/recipe.js';
import { brickRecipe } from '../../decoding/registry.js';
import { parseSubquestions } from '../../prompts/index.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { combineReports } from './onnx-brick-cost.js';
import type { DrawSamples, KeptDecomposition } from './onnx-brick-sampling.js';

export interface RecipeChoice {
  /** The manifest's decoding settings, then the caller's overrides of them. */
  decoding: BrickDecoding;
  /** `brick`: the recipe the settings name; `none`: plain decoding. */
  recipe: 'brick' | 'none';
}

/** The recipe the brick decodes with, bound to its settings and tokenizer (undefined: plain decoding). */
export function prepareBrickRecipe(choice: RecipeChoice, tokenizer: Tokenizer): PreparedRecipe | undefined {
  if (choice.recipe === 'none') return undefined;
  return brickRecipe(choice.decoding)?.prepare(choice.decoding, tokenizer);
}

export interface RerankRequest {
  reranker: DecompositionReranker;
  question: string;
  maxSubquestions: number;
  greedy: KeptDecomposition;
  draw: DrawSamples;
}

/**
 * Rejection sampling: when the greedy decomposition has a fault the recipe says no solver can repair
 * (for copy-names: a name left out, a sub-question asked twice, a reference forward), keep the most
 * likely sample without one, drawn with the recipe's resampling processors. The samples' cost joins
 * the call's, with a warning saying what happened.
 */
export async function rerankDecomposition(request: RerankRequest): Promise<KeptDecomposition> {
  const { reranker, question, maxSubquestions, greedy } = request;
  const faults = reranker.faults(question, greedy.parsed);
  if (faults.length === 0) return greedy;
  const count = reranker.samples;
  const processors = reranker.resampleProcessors(question, greedy.parsed);
  const sampled = await request.draw({ count, processors });
  // The most likely sample (mean log-probability per token) among those without a fault: at
  // temperature 1 some samples are garbled text that happens to pass the checks.
  const sound = sampled.samples
    .map((sample) => ({ ...sample, parsed: parseSubquestions(sample.text, maxSubquestions) }))
    .filter((candidate) => reranker.faults(question, candidate.parsed).length === 0)
    .sort((left, right) => right.meanLogProbability - left.meanLogProbability)[0];
  const warning =
    sound === undefined
      ? `the decomposition ${faults.join('; ')}, and so did all ${count} samples drawn to replace it`
      : `the greedy decomposition ${faults.join('; ')}; a sample without faults replaced it`;
  const report = combineReports(greedy.report, sampled.report, {
    raw: sound?.text ?? greedy.report.raw,
    warning,
  });
  if (sound === undefined) return { ...greedy, report };
  const { meanLogProbability, minLogProbability, tokens } = sound;
  return { parsed: sound.parsed, report, confidence: { meanLogProbability, minLogProbability, tokens } };
}
