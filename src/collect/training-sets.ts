/**
 * Training sets in the OpenAI fine-tuning chat shape: the decomposer role (decompose prompt →
 * numbered sub-questions) and the solver role (solve prompt → sub-answers and the final
 * line). Built from the journals' state in example order and written atomically, so a killed
 * and resumed collection writes byte-identical files. `trainingSetCounts` says how many examples
 * each set kept and why it dropped the others.
 */
import { join } from 'node:path';
import type { CollectionState } from './collection-state.js';
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

/** Why an example gave no training example of a role. */
export type DropReason =
  'decomposition-invalid' | 'decomposition-error' | 'wrong-answer' | 'no-solution' | 'no-final-answer';

/** What each reason means, for the logs. */
export const dropReasonText: Readonly<Record<DropReason, string>> = {
  'decomposition-invalid': 'the teacher never wrote a valid decomposition',
  'decomposition-error': 'the teacher did not answer (errors; a rerun retries them)',
  'wrong-answer': "filter correct: the chain's answer was wrong",
  'no-solution': 'the teacher did not solve its own decomposition',
  'no-final-answer': 'the solution has no final answer',
};

export interface RoleCounts {
  kept: number;
  dropped: Partial<Record<DropReason, number>>;
}

/** How many of the examples each training set kept, and why it dropped the others. */
export interface TrainingSetCounts {
  examples: number;
  decomposer: RoleCounts;
  solver: RoleCounts;
}

function add(counts: RoleCounts['dropped'], reason: DropReason): void {
  counts[reason] = (counts[reason] ?? 0) + 1;
}

/** Why `example`, which the filter did not keep, was dropped (its first decomposition decides). */
function dropReason(state: CollectionState, example: Example): DropReason {
  const status = state.exampleStatus(example);
  if (status !== 'ok') return status === 'invalid' ? 'decomposition-invalid' : 'decomposition-error';
  for (let sample = 0; sample < state.samples; sample += 1) {
    const decomposition = state.decompositions.ok(state.decompositionKey(example, sample));
    if (decomposition === undefined) break;
    if (state.solutions.ok(state.solutionKey(decomposition.key))?.correct === false) return 'wrong-answer';
  }
  return 'no-solution';
}

/** Counts what `writeTrainingSets(dir, state.kept(examples))` keeps and drops, by reason. */
export function trainingSetCounts(state: CollectionState, examples: readonly Example[]): TrainingSetCounts {
  const kept = new Map(state.kept(examples).map((pair) => [pair.example.id, pair]));
  const counts: TrainingSetCounts = {
    examples: examples.length,
    decomposer: { kept: 0, dropped: {} },
    solver: { kept: 0, dropped: {} },
  };
  for (const example of examples) {
    const pair = kept.get(example.id);
    if (pair === undefined) {
      const reason = dropReason(state, example);
      add(counts.decomposer.dropped, reason);
      add(counts.solver.dropped, reason);
      continue;
    }
    counts.decomposer.kept += 1;
    if (pair.solution?.answer !== undefined) counts.solver.kept += 1;
    else add(counts.solver.dropped, pair.solution === undefined ? 'no-solution' : 'no-final-answer');
  }
  return counts;
}

/** `kept 2 of 80; dropped 78: wrong-answer 75 (filter correct: ...), decomposition-invalid 3 (...)`. */
export function describeRoleCounts(counts: RoleCounts, examples: number): string {
  const drops = Object.entries(counts.dropped) as [DropReason, number][];
  if (drops.length === 0) return `kept ${counts.kept} of ${examples}`;
  const listed = drops
    .sort(([, a], [, b]) => b - a)
    .map(([reason, count]) => `${reason} ${count} (${dropReasonText[reason]})`)
    .join(', ');
  return `kept ${counts.kept} of ${examples}; dropped ${examples - counts.kept}: ${listed}`;
}
