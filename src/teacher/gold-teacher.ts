/**
 * `gold`: the example's own gold decomposition (GSM8K socratic, StrategyQA, synthetic
 * worlds). It solves only from its own decomposition when the dataset records sub-answers
 * (the answer is then the gold answer); otherwise it delegates to `solver` when one is given
 * (the reference expert for synthetic worlds), else it refuses clearly.
 */
import type { Example } from '../data/schemas.js';
import { renderDecomposition, renderSolution } from '../prompts/index.js';
import { TeacherUnsupportedError } from './errors.js';
import { localResult } from './local-result.js';
import type { DecomposeOptions, DecomposeResult, SolveOptions, SolveResult, Teacher } from './types.js';

export class GoldTeacher implements Teacher {
  readonly specificationVersion = 'v1';
  readonly id = 'gold';
  readonly model = 'gold';
  readonly deterministic = true;

  /** `solver` answers when the gold has no sub-answers for the asked sub-questions. */
  constructor(private readonly solver?: Pick<Teacher, 'solve'> & { canSolve(example: Example): boolean }) {}

  decodingSettings(): Record<string, unknown> {
    return {};
  }

  async decompose(example: Example, options: DecomposeOptions): Promise<DecomposeResult> {
    const startedAt = performance.now();
    if (example.gold === undefined) {
      throw new TeacherUnsupportedError(
        `example '${example.id}' has no gold decomposition (\`gold.subquestions\`); use a dataset that has one, or another teacher`,
      );
    }
    const subquestions = example.gold.subquestions;
    if (subquestions.length > options.maxSubquestions) {
      return {
        ...localResult('', startedAt, {
          status: 'invalid',
          error: `the gold decomposition has ${subquestions.length} sub-questions, more than --max-subquestions ${options.maxSubquestions}`,
        }),
        subquestions: [],
      };
    }
    return { ...localResult(renderDecomposition(subquestions), startedAt), subquestions: [...subquestions] };
  }

  async solve(
    example: Example,
    subquestions: readonly string[],
    options: SolveOptions,
  ): Promise<SolveResult> {
    const startedAt = performance.now();
    const gold = example.gold;
    const sameAsGold =
      gold !== undefined &&
      gold.subanswers !== undefined &&
      gold.subanswers.length === subquestions.length &&
      gold.subquestions.length === subquestions.length &&
      gold.subquestions.every((subquestion, index) => subquestion === subquestions[index]);
    if (sameAsGold) {
      const subanswers = [...gold.subanswers!];
      return {
        ...localResult(renderSolution(subanswers, example.answer), startedAt),
        subanswers,
        answer: example.answer,
      };
    }
    if (this.solver !== undefined && this.solver.canSolve(example))
      return this.solver.solve(example, subquestions, options);
    throw new TeacherUnsupportedError(
      `the gold teacher cannot solve example '${example.id}': its gold has no sub-answers for these sub-questions ` +
        '(filtering needs a solving teacher: collect with `reference` or `openai:MODEL`, or use a dataset with `gold.subanswers`)',
    );
  }
}
