/**
 * The reference expert: the symbolic "big model" of the synthetic worlds. It decomposes a
 * question of either world from its text, and solves ONE step at a time (one fact of the
 * hops knowledge base, or one arithmetic operation over known quantities). It never sees
 * an example's gold fields.
 */
import { getKnowledgeBase } from './hops/knowledge-base.js';
import { HopsParser } from './hops/parser.js';
import { planQuestion } from './hops/question-tree.js';
import { solveHopsStep } from './hops/solver.js';
import { parseProblem, stepAsks } from './math/problem.js';
import { solveMathStep } from './math/solver.js';

export interface StepInput {
  question: string;
  context?: string;
  subquestion: string;
  previous: { subquestion: string; answer: string }[];
}

export type StepResult = { ok: true; answer: string } | { ok: false; reason: string };

export interface ReferenceExpert {
  /** Sub-questions (with #k references) for a question of either world, detected from the text; [] when one step suffices; null when it is not a question of its worlds. */
  decompose(question: string, context?: string): string[] | null;
  /** Answers one sub-question (already #k-substituted) given the question and earlier steps. */
  solveStep(input: StepInput): StepResult;
}

export function createReferenceExpert(): ReferenceExpert {
  const knowledgeBase = getKnowledgeBase();
  const parser = new HopsParser(knowledgeBase);
  return {
    decompose(question) {
      const problem = parseProblem(question);
      if (problem) {
        const steps = problem.template.steps;
        return steps.length > 1 ? steps.map((mathStep) => stepAsks(problem, mathStep)[0] as string) : [];
      }
      const parsed = parser.question(question);
      if (!parsed) return null;
      const steps = planQuestion(parsed);
      return steps.length > 1 ? steps.map((planned) => planned.subquestion) : [];
    },
    solveStep(input) {
      const subquestion = input.subquestion.trim();
      if (subquestion === '') return { ok: false, reason: 'cannot answer: the sub-question is empty' };
      const unresolved = /#\d+/.exec(subquestion);
      if (unresolved) {
        return { ok: false, reason: `cannot answer: ${unresolved[0]} was not replaced by an earlier answer` };
      }
      const math = solveMathStep({ question: input.question, subquestion, previous: input.previous });
      if (math) return math;
      const hops = solveHopsStep(parser, knowledgeBase, subquestion);
      if (hops) return hops;
      return { ok: false, reason: 'cannot answer: not a single-step question of the hops or math worlds' };
    },
  };
}
