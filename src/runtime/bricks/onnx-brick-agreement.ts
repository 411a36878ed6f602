/**
 * Self-consistency of an ONNX brick's decomposition (a cascade's `agreement` signal): the share of
 * sampled decompositions equal to the one the call kept. Agreement is a measurement, not a repair:
 * the samples' cost joins the call's, with no warning of its own.
 */
import { parseSubquestions } from '../../prompts/index.js';
import { combineReports } from './onnx-brick-cost.js';
import type { DrawSamples, KeptDecomposition } from './onnx-brick-sampling.js';

/** Sub-questions compared as a cascade's agreement signal compares them (case and spacing aside). */
function decompositionKey(subquestions: readonly string[]): string {
  return subquestions.map((subquestion) => subquestion.trim().replace(/\s+/g, ' ').toLowerCase()).join('\n');
}

export interface AgreementRequest {
  kept: KeptDecomposition;
  /** How many samples to draw (a call's `confidenceSamples`). */
  samples: number;
  maxSubquestions: number;
  draw: DrawSamples;
}

/** The kept decomposition with `confidence.agreement` and `samples` measured. */
export async function measureAgreement(request: AgreementRequest): Promise<KeptDecomposition> {
  const { kept, samples, maxSubquestions } = request;
  const drawn = await request.draw({ count: samples });
  const keptKey = decompositionKey(kept.parsed.subquestions);
  const agreeing = drawn.samples.filter(
    (sample) => decompositionKey(parseSubquestions(sample.text, maxSubquestions).subquestions) === keptKey,
  ).length;
  return {
    parsed: kept.parsed,
    report: combineReports(kept.report, drawn.report, { raw: kept.report.raw }),
    confidence: { ...kept.confidence, agreement: agreeing / samples, samples },
  };
}
