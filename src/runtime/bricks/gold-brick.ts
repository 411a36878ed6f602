/**
 * The `gold` brick: the example's own gold decomposition, as a decomposer (static and
 * dynamic). It needs the example, so it works where examples are known (eval, collect), not
 * on a free-standing question. It costs nothing and reads no text.
 */
import type { Example } from '../../data/schemas.js';
import type {
  Brick,
  BrickCallReport,
  BrickResult,
  DecomposeInput,
  DecomposeOutput,
  NextSubquestionInput,
  NextSubquestionOutput,
} from './brick.js';
import type { BrickLoader } from './registry.js';

function goldSubquestions(example: Example | undefined): string[] {
  if (example === undefined)
    throw new Error(
      "the 'gold' brick reads the example's gold decomposition, and this call has no example " +
        '(use it in eval or collect over a dataset, or pick another decomposer for a free-standing question)',
    );
  if (example.gold === undefined)
    throw new Error(
      `example '${example.id}' has no gold decomposition, so the 'gold' brick cannot decompose it ` +
        '(use a dataset with `gold.subquestions`, or another decomposer)',
    );
  return example.gold.subquestions;
}

function report(raw: string, startedAt: number): BrickCallReport {
  return {
    usage: { inputTokens: 0, outputTokens: 0 },
    latencyMs: performance.now() - startedAt,
    costUsd: 0,
    raw,
    warnings: [],
    finishReason: 'stop',
  };
}

export class GoldBrick implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly spec = 'gold';
  readonly kind = 'gold' as const;
  readonly role = 'decomposer' as const;
  readonly model = 'gold';

  async decompose(input: DecomposeInput): Promise<BrickResult<DecomposeOutput>> {
    const startedAt = performance.now();
    const subquestions = goldSubquestions(input.example);
    const result = {
      subquestions: subquestions.slice(0, input.maxSubquestions),
      kind: subquestions.length === 0 ? ('no-decomposition' as const) : ('subquestions' as const),
      ...report(subquestions.join('\n'), startedAt),
    };
    if (subquestions.length > input.maxSubquestions)
      result.warnings.push(
        `gold has ${subquestions.length} sub-questions; kept the first ${input.maxSubquestions}`,
      );
    return result;
  }

  async nextSubquestion(input: NextSubquestionInput): Promise<BrickResult<NextSubquestionOutput>> {
    const startedAt = performance.now();
    const next = goldSubquestions(input.example)[input.previous.length];
    const subquestion = next === undefined || input.previous.length >= input.maxSubquestions ? null : next;
    return { subquestion, done: subquestion === null, ...report(subquestion ?? 'Done.', startedAt) };
  }
}

export const goldBrickLoader: BrickLoader = {
  kind: 'gold',
  load: async () => new GoldBrick(),
};
