/**
 * What a decomposer's later stages draw from an ONNX brick: seeded samples of one chat, each with
 * how likely the brick found it, and the decomposition a call has kept so far.
 */
import type { ParsedSubquestions } from '../../prompts/index.js';
import type { LogitsProcessor } from '../../decoding/logits-processor.js';
import type { BrickCallReport, DecompositionConfidence } from './brick.js';

/** A sampled completion and how likely the brick found it (mean and lowest log-probability per token). */
export interface SampledText {
  text: string;
  meanLogProbability: number;
  minLogProbability: number;
  tokens: number;
}

/** `count` seeded samples of the call's chat, with extra processors besides the recipe's. */
export type DrawSamples = (request: {
  count: number;
  processors?: readonly LogitsProcessor[];
}) => Promise<{ samples: SampledText[]; report: BrickCallReport }>;

/** The decomposition a call keeps, with what it cost so far and how sure the brick was of it. */
export interface KeptDecomposition {
  parsed: ParsedSubquestions;
  report: BrickCallReport;
  confidence: DecompositionConfidence;
}
