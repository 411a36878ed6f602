/**
 * An ONNX brick's method results from its generated text: the prompts module's tolerant parsers
 * applied, their repairs added to the call's warnings, and what a solver could not answer named.
 */
import { parseNextSubquestion, parseSolution } from '../../prompts/index.js';
import type {
  BrickCallReport,
  BrickResult,
  DecomposeOutput,
  NextSubquestionOutput,
  SolveInput,
  SolveOutput,
} from './brick.js';
import type { KeptDecomposition } from './onnx-brick-sampling.js';

/** A decomposer's result from the decomposition it kept. */
export function decompositionResult({
  parsed,
  report,
  confidence,
}: KeptDecomposition): BrickResult<DecomposeOutput> {
  return {
    subquestions: parsed.subquestions,
    kind: parsed.kind === 'unparseable' ? 'failed' : parsed.kind,
    truncated: parsed.truncated,
    confidence,
    ...report,
    warnings: [...report.warnings, ...parsed.warnings],
  };
}

/** A dynamic decomposer's next sub-question (or its "done") from the generated text. */
export function nextSubquestionResult(
  text: string,
  report: BrickCallReport,
): BrickResult<NextSubquestionOutput> {
  const parsed = parseNextSubquestion(text);
  return {
    subquestion: parsed.subquestion,
    done: parsed.done,
    ...report,
    warnings: [...report.warnings, ...parsed.warnings],
  };
}

/** A solver's answers from the generated text; no final answer names the step it stopped at. */
export function solveResult(
  input: SolveInput,
  text: string,
  report: BrickCallReport,
): BrickResult<SolveOutput> {
  const parsed = parseSolution(text, input.subquestions.length);
  const solved: BrickResult<SolveOutput> = {
    subanswers: parsed.subanswers,
    answer: parsed.answer,
    ...report,
    warnings: [...report.warnings, ...parsed.warnings],
  };
  if (parsed.answer === undefined) {
    const index = parsed.subanswers.length < input.subquestions.length ? parsed.subanswers.length : -1;
    solved.unanswerable = {
      index,
      subquestion: index === -1 ? input.question : input.subquestions[index],
      reason: 'the student gave no final answer',
    };
  }
  return solved;
}
