/**
 * Training sets in the OpenAI fine-tuning chat shape: the decomposer role (decompose prompt →
 * numbered sub-questions) and the solver role (solve prompt → sub-answers and the final
 * line). Built from the journals' state in example order and written atomically, so a killed
 * and resumed collection writes byte-identical files.
 */
import { join } from 'node:path';
import { writeJsonlAtomic } from '../data/jsonl.js';
import { chatExampleSchema } from '../data/schemas.js';
import type { ChatExample, DecompositionRecord, Example, SolutionRecord } from '../data/schemas.js';
import {
  renderDecomposePrompt,
  renderDecomposition,
  renderSolution,
  renderSolvePrompt,
} from '../prompts/index.js';

export interface KeptPair {
  example: Example;
  decomposition: DecompositionRecord;
  solution?: SolutionRecord;
}

export function decomposerExample(pair: KeptPair, maxSubquestions: number): ChatExample {
  const { example, decomposition } = pair;
  return {
    messages: [
      ...renderDecomposePrompt({ question: example.question, context: example.context, maxSubquestions }),
      { role: 'assistant', content: renderDecomposition(decomposition.subquestions) },
    ],
  };
}

export function solverExample(pair: KeptPair & { solution: SolutionRecord }): ChatExample {
  const { example, decomposition, solution } = pair;
  return {
    messages: [
      ...renderSolvePrompt({
        question: example.question,
        context: example.context,
        subquestions: decomposition.subquestions,
      }),
      { role: 'assistant', content: renderSolution(solution.subanswers, solution.answer ?? '') },
    ],
  };
}

export const trainingFileNames = {
  decomposer: 'train-decomposer.jsonl',
  solver: 'train-solver.jsonl',
} as const;

/** Writes both files; returns how many examples each holds. */
export async function writeTrainingSets(
  outDir: string,
  kept: readonly KeptPair[],
  maxSubquestions: number,
): Promise<{ decomposer: number; solver: number }> {
  const decomposer = kept.map((pair) => decomposerExample(pair, maxSubquestions));
  const solver = kept.flatMap((pair) =>
    pair.solution?.answer === undefined ? [] : [solverExample({ ...pair, solution: pair.solution })],
  );
  await writeJsonlAtomic(join(outDir, trainingFileNames.decomposer), decomposer, chatExampleSchema);
  await writeJsonlAtomic(join(outDir, trainingFileNames.solver), solver, chatExampleSchema);
  return { decomposer: decomposer.length, solver: solver.length };
}
