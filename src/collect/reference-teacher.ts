/**
 * `reference`: the synthetic worlds' expert as a teacher. It runs locally in microseconds;
 * its usage is estimated as an LLM would count the same exchange (about characters / 4 of the
 * rendered prompt and answer) and priced from the `reference` row of the price table, and
 * every result is flagged `simulated`. Solving goes through the runtime's ReferenceBrick, so
 * collected solutions match what the reference solver brick does in chains.
 */
import type { Example } from '../data/schemas.js';
import { renderDecomposePrompt, renderDecomposition } from '../prompts/index.js';
import { ReferenceBrick, referencePriceEntry } from '../runtime/bricks/reference-brick.js';
import type { ReferenceExpert } from '../runtime/bricks/reference-brick.js';
import { estimateChatUsage } from '../teacher/simulated-usage.js';
import { localResult } from '../teacher/local-result.js';
import { lookupPrice, priceUsage } from '../teacher/pricing.js';
import type { PriceTable } from '../teacher/pricing.js';
import type {
  DecomposeOptions,
  DecomposeResult,
  SolveOptions,
  SolveResult,
  Teacher,
} from '../teacher/types.js';

export class ReferenceTeacher implements Teacher {
  readonly specificationVersion = 'v1';
  readonly id = 'reference';
  readonly model = referencePriceEntry;
  readonly deterministic = true;
  private readonly brick: ReferenceBrick;

  constructor(
    private readonly expert: ReferenceExpert,
    private readonly prices?: PriceTable,
  ) {
    this.brick = new ReferenceBrick(expert, prices);
  }

  decodingSettings(): Record<string, unknown> {
    return {};
  }

  /** True for a question of the synthetic worlds (one the expert can plan). */
  canSolve(example: Example): boolean {
    return this.expert.decompose(example.question, example.context) !== null;
  }

  async decompose(example: Example, options: DecomposeOptions): Promise<DecomposeResult> {
    const startedAt = performance.now();
    const found = this.expert.decompose(example.question, example.context);
    const prompt = renderDecomposePrompt({
      question: example.question,
      context: example.context,
      maxSubquestions: options.maxSubquestions,
    });
    const invalid = (error: string): DecomposeResult => ({
      ...localResult('', startedAt, { status: 'invalid', error, simulated: true }),
      subquestions: [],
    });
    if (found === null)
      return invalid(
        'the reference expert cannot decompose this question (it is not from the synthetic worlds)',
      );
    if (found.length > options.maxSubquestions) {
      return invalid(
        `the reference expert needs ${found.length} sub-questions, more than --max-subquestions ${options.maxSubquestions}`,
      );
    }
    const raw = renderDecomposition(found);
    const usage = estimateChatUsage(prompt, raw);
    const price = lookupPrice(referencePriceEntry, this.prices);
    return {
      ...localResult(raw, startedAt, {
        usage,
        costUsd: priceUsage(usage, price.price),
        simulated: true,
        warnings: price.warning === undefined ? [] : [price.warning],
      }),
      subquestions: found,
    };
  }

  async solve(
    example: Example,
    subquestions: readonly string[],
    options: SolveOptions,
  ): Promise<SolveResult> {
    const startedAt = performance.now();
    const solved = await this.brick.solve({
      question: example.question,
      context: example.context,
      subquestions,
      example,
      signal: options.signal,
    });
    const base = localResult(solved.raw, startedAt, {
      usage: solved.usage,
      costUsd: solved.costUsd,
      simulated: true,
      warnings: solved.warnings,
      ...(solved.answer === undefined
        ? {
            status: 'invalid' as const,
            error: `the reference expert could not answer: ${solved.unanswerable?.reason ?? 'no answer'}`,
          }
        : {}),
    });
    return { ...base, subanswers: solved.subanswers, answer: solved.answer };
  }
}
