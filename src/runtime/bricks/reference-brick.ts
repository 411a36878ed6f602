/**
 * The `reference` brick: the synthetic worlds' expert as a decomposer (static and dynamic)
 * and a solver that answers one step at a time. It runs in microseconds and costs nothing,
 * so its usage is what an LLM would see for the same exchange (the rendered prompt and
 * answer), priced from the `reference` row of the price table and flagged `simulated`.
 */
import type { ChatMessage } from '../../data/schemas.js';
import { substituteReferences } from '../../data/subquestion-references.js';
import {
  renderDecomposePrompt,
  renderDecomposition,
  renderNextSubquestion,
  renderNextSubquestionPrompt,
  renderSolution,
  renderSolvePrompt,
} from '../../prompts/index.js';
import { lookupPrice, priceUsage, type PriceTable } from '../../teacher/pricing.js';
import { createReferenceExpert } from '../../worlds/index.js';
import type {
  AnsweredSubquestion,
  Brick,
  BrickCallReport,
  BrickResult,
  DecomposeInput,
  DecomposeOutput,
  NextSubquestionInput,
  NextSubquestionOutput,
  SolveInput,
  SolveOutput,
} from './brick.js';
import type { BrickLoader } from './registry.js';
import { estimateChatUsage } from '../../teacher/simulated-usage.js';

/** The worlds' expert, as the brick uses it (`createReferenceExpert()` in src/worlds). */
export interface ReferenceExpert {
  decompose(question: string, context?: string): string[] | null;
  solveStep(input: {
    question: string;
    context?: string;
    subquestion: string;
    previous: AnsweredSubquestion[];
  }): { ok: true; answer: string } | { ok: false; reason: string };
}

export const referencePriceEntry = 'reference';

export class ReferenceBrick implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly spec = 'reference';
  readonly kind = 'reference' as const;
  readonly model = referencePriceEntry;

  constructor(
    private readonly expert: ReferenceExpert,
    private readonly prices?: PriceTable,
  ) {}

  private report(prompt: ChatMessage[], raw: string, startedAt: number, warnings: string[]): BrickCallReport {
    const usage = estimateChatUsage(prompt, raw);
    const { price, warning } = lookupPrice(referencePriceEntry, this.prices);
    return {
      usage,
      latencyMs: performance.now() - startedAt,
      costUsd: priceUsage(usage, price),
      simulated: true,
      raw,
      warnings: warning === undefined ? warnings : [...warnings, warning],
      finishReason: 'stop',
    };
  }

  async decompose(input: DecomposeInput): Promise<BrickResult<DecomposeOutput>> {
    const startedAt = performance.now();
    const found = this.expert.decompose(input.question, input.context);
    const warnings: string[] = [];
    const subquestions = (found ?? []).slice(0, input.maxSubquestions);
    if (found === null)
      warnings.push('the reference expert cannot decompose this question (not from its worlds)');
    else if (found.length > input.maxSubquestions)
      warnings.push(
        `the expert needs ${found.length} sub-questions; kept the first ${input.maxSubquestions}`,
      );
    const kind = found === null ? 'failed' : found.length === 0 ? 'no-decomposition' : 'subquestions';
    const raw = found === null ? '' : renderDecomposition(subquestions);
    const prompt = renderDecomposePrompt(input);
    return { subquestions, kind, ...this.report(prompt, raw, startedAt, warnings) };
  }

  /** The expert plans statically; dynamic mode walks its plan one sub-question at a time. */
  async nextSubquestion(input: NextSubquestionInput): Promise<BrickResult<NextSubquestionOutput>> {
    const startedAt = performance.now();
    const found = this.expert.decompose(input.question, input.context);
    const prompt = renderNextSubquestionPrompt(input);
    if (found === null) {
      const warning = 'the reference expert cannot decompose this question (not from its worlds)';
      return { subquestion: null, done: false, ...this.report(prompt, '', startedAt, [warning]) };
    }
    const next =
      input.previous.length < input.maxSubquestions ? (found[input.previous.length] ?? null) : null;
    return {
      subquestion: next,
      done: next === null,
      ...this.report(prompt, renderNextSubquestion(next), startedAt, []),
    };
  }

  /**
   * Answers the sub-questions in order (`#k` refers to the k-th answer, earlier ones first),
   * one expert step each; with no sub-questions, the question itself is one step. The final
   * answer is the last answer: the expert's plans end with the question's answer.
   */
  async solve(input: SolveInput): Promise<BrickResult<SolveOutput>> {
    const startedAt = performance.now();
    const answered: AnsweredSubquestion[] = [...(input.previous ?? [])];
    const direct = input.subquestions.length === 0;
    const asked = direct ? [input.question] : input.subquestions;
    const subanswers: string[] = [];
    let unanswerable: SolveOutput['unanswerable'];
    for (const [index, text] of asked.entries()) {
      const subquestion = substituteReferences(
        text,
        answered.map((entry) => entry.answer),
      );
      const step = this.expert.solveStep({
        question: input.question,
        context: input.context,
        subquestion,
        previous: answered,
      });
      if (!step.ok) {
        unanswerable = { index: direct ? -1 : index, subquestion, reason: step.reason };
        break;
      }
      answered.push({ subquestion, answer: step.answer });
      subanswers.push(step.answer);
    }
    const answer = unanswerable === undefined ? subanswers.at(-1) : undefined;
    const raw =
      answer === undefined
        ? `Cannot answer: ${unanswerable?.reason ?? ''}`
        : renderSolution(direct ? [] : subanswers, answer);
    const prompt = renderSolvePrompt(input);
    const result: BrickResult<SolveOutput> = {
      subanswers: direct ? [] : subanswers,
      answer,
      ...this.report(prompt, raw, startedAt, []),
    };
    if (unanswerable !== undefined) result.unanswerable = unanswerable;
    return result;
  }
}

export const referenceBrickLoader: BrickLoader = {
  kind: 'reference',
  load: async (_spec, options) => new ReferenceBrick(createReferenceExpert(), options.prices),
};
