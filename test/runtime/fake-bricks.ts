/** Scripted bricks for chain tests: a fact-table solver and list/next-step decomposers. */
import type {
  Brick,
  BrickCallReport,
  DecomposeInput,
  NextSubquestionInput,
  SolveInput,
} from '../../src/runtime/bricks/brick.js';

export function callReport(raw: string, tokens = { inputTokens: 10, outputTokens: 5 }): BrickCallReport {
  return { usage: tokens, latencyMs: 2, costUsd: 0.001, raw, warnings: [], finishReason: 'stop' };
}

/** Answers a sub-question only when it is in its fact table; the final answer is the last sub-answer. */
export class FactSolver implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'openai' as const;
  readonly model = 'fact-solver';
  readonly calls: SolveInput[] = [];
  constructor(
    private readonly facts: Record<string, string>,
    readonly spec = 'facts',
  ) {}

  async solve(input: SolveInput) {
    this.calls.push(input);
    const asked = input.subquestions.length === 0 ? [input.question] : input.subquestions;
    const subanswers: string[] = [];
    for (const [index, subquestion] of asked.entries()) {
      const answer = this.facts[subquestion];
      if (answer === undefined) {
        return {
          subanswers: input.subquestions.length === 0 ? [] : subanswers,
          answer: undefined,
          unanswerable: {
            index: input.subquestions.length === 0 ? -1 : index,
            subquestion,
            reason: 'not a known fact',
          },
          ...callReport('I do not know'),
        };
      }
      subanswers.push(answer);
    }
    return {
      subanswers: input.subquestions.length === 0 ? [] : subanswers,
      answer: subanswers.at(-1),
      ...callReport(subanswers.join('\n')),
    };
  }
}

/** Returns a fixed list (static) and walks it one step at a time (dynamic). */
export class ListDecomposer implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'reference' as const;
  readonly model = 'list';
  readonly decomposeCalls: DecomposeInput[] = [];
  readonly nextCalls: NextSubquestionInput[] = [];
  constructor(
    private readonly list: string[],
    private readonly kindOfResult: 'subquestions' | 'no-decomposition' | 'failed' = 'subquestions',
    readonly spec = 'list',
  ) {}

  async decompose(input: DecomposeInput) {
    this.decomposeCalls.push(input);
    return { subquestions: this.list, kind: this.kindOfResult, ...callReport(this.list.join('\n')) };
  }

  async nextSubquestion(input: NextSubquestionInput) {
    this.nextCalls.push({ ...input, previous: [...input.previous] });
    if (this.kindOfResult === 'failed') return { subquestion: null, done: false, ...callReport('???') };
    const subquestion = this.list[input.previous.length] ?? null;
    return { subquestion, done: subquestion === null, ...callReport(subquestion ?? 'Done.') };
  }
}
