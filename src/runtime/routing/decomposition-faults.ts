/**
 * Faults a cascade escalates on whatever the confidence: a decomposition that no solver can turn
 * into the right answer. Unlike `src/decoding/copy-names/decomposition-coverage.ts` (which the
 * copy-names recipe uses to resample, with its tokenizer's idea of a name) these need nothing but
 * the decomposition:
 * - nothing usable came out (empty or unparseable output: kind `failed`);
 * - more sub-questions than the chain's cap (the brick wrote more and the rest were cut);
 * - a sub-question asked twice (the copy adds no fact: a step the question needs is missing);
 * - a `#k` in sub-question i that points at itself, a later step or no step (k < 1 or k ≥ i).
 * "No decomposition." is not a fault: it is a valid answer for a one-step question, and whether
 * the question needed steps is for the confidence signal to judge.
 */
import { findReferences } from '../../data/subquestion-references.js';
import type { DecomposeOutput } from '../bricks/brick.js';

export function decompositionFaults(
  output: Pick<DecomposeOutput, 'subquestions' | 'kind' | 'truncated'>,
  maxSubquestions: number,
): string[] {
  if (output.kind === 'failed') return ['no usable decomposition (empty or unparseable output)'];
  const faults: string[] = [];
  if (output.truncated === true || output.subquestions.length > maxSubquestions)
    faults.push(`more sub-questions than the cap of ${maxSubquestions}`);
  const seen = new Set<string>();
  output.subquestions.forEach((subquestion, index) => {
    const key = subquestion.trim().replace(/\s+/g, ' ').toLowerCase();
    if (seen.has(key)) faults.push(`sub-question ${index + 1} repeats an earlier one`);
    seen.add(key);
    for (const reference of findReferences(subquestion))
      if (reference < 1 || reference > index)
        faults.push(`sub-question ${index + 1} refers to #${reference}, which is not answered before it`);
  });
  return faults;
}
