/**
 * The filter stage: the training sets (`filter/train-decomposer.jsonl`, `filter/train-solver.jsonl`)
 * built from the collect journals with the pipeline's filter: `all` keeps every valid
 * decomposition (SD-T), `correct` only those whose chain reached the gold answer (SD-R). It makes
 * no teacher request, so changing the filter never re-collects. It says how many examples each set
 * dropped and why (log and summary), and fails when a set a student trains on is under the
 * training floor (src/train/data-floor.ts) unless that student has `allowSmallData`.
 */
import { join } from 'node:path';
import { CollectionState } from '../../collect/collection-state.js';
import { journalFileNames } from '../../collect/run-collection.js';
import {
  describeRoleCounts,
  type TrainingSetCounts,
  trainingFileNames,
  trainingSetCounts,
  writeTrainingSets,
} from '../../collect/training-sets.js';
import { UserError } from '../../errors/user-error.js';
import { dataFloorProblem, expectedCounts } from '../../train/data-floor.js';
import { readJsonlAll } from '../../data/jsonl.js';
import { decompositionRecordSchema, exampleSchema, solutionRecordSchema } from '../../data/schemas.js';
import type { PipelineContext, StageDefinition, UnitPlan } from '../stage.js';
import { collectKeySettings, collectSettings, pipelineTeacher } from './collect-stage.js';
import { trainExamplesFileName } from './data-stage.js';

/** The training file of a role, as the filter stage writes it. */
export function trainingFile(filterDirectory: string, role: 'decomposer' | 'solver'): string {
  return join(filterDirectory, trainingFileNames[role]);
}

/** Refuses a training set under the floor for a student that trains on it without allowSmallData. */
function checkStudentFloors(context: PipelineContext, counts: TrainingSetCounts, filter: string): void {
  for (const student of context.loaded.students) {
    const role = counts[student.role];
    const problem = dataFloorProblem(expectedCounts(role.kept));
    // An openai student is held to the service's own floor (10 examples) by the remote backend.
    if (problem === null || student.allowSmallData === true || student.backend === 'openai') continue;
    throw new UserError(
      `the filter (${filter}) ${describeRoleCounts(role, counts.examples)} for the ${student.role} training set; ` +
        `student "${student.name}" would train on ${problem}; collect more examples or check the teacher's answers in collect/, ` +
        'use collect.filter "all", or set "allowSmallData": true on the student to train anyway',
    );
  }
}

function filterUnit(context: PipelineContext): UnitPlan {
  const { pipeline } = context.loaded;
  const directory = context.stageDirectory('filter');
  const collectDirectory = context.stageDirectory('collect');
  const inputs = {
    examples: join(context.stageDirectory('data'), trainExamplesFileName),
    decompositions: join(collectDirectory, journalFileNames.decompositions),
    solutions: join(collectDirectory, journalFileNames.solutions),
  };
  const settings = collectSettings(pipeline);
  return {
    id: 'filter',
    settings: { collection: collectKeySettings(pipeline), filter: settings.filter },
    inputs,
    async run(unit) {
      const examples = await readJsonlAll(inputs.examples, exampleSchema);
      const teacher = await pipelineTeacher(pipeline, context.env, unit.log);
      const state = new CollectionState(teacher, {
        maxSubquestions: settings.maxSubquestions,
        maxAttempts: settings.maxAttempts,
        filter: settings.filter,
        secondSample: settings.secondSample,
      });
      for (const record of await readJsonlAll(inputs.decompositions, decompositionRecordSchema))
        state.decompositions.add(record, false);
      const solutions = await readJsonlAll(inputs.solutions, solutionRecordSchema);
      for (const record of solutions) state.solutions.add(record, false);
      const kept = await writeTrainingSets(directory, state.kept(examples), settings.maxSubquestions);
      const reachedGold = examples.filter((example) =>
        state.kept([example]).some((pair) => pair.solution?.correct === true),
      ).length;
      const counts = trainingSetCounts(state, examples);
      for (const role of ['decomposer', 'solver'] as const)
        unit.log(`filter (${settings.filter}): ${role} ${describeRoleCounts(counts[role], examples.length)}`);
      checkStudentFloors(context, counts, settings.filter);
      return {
        outputs: {
          decomposer: trainingFile(directory, 'decomposer'),
          solver: trainingFile(directory, 'solver'),
        },
        spentUsd: 0,
        savedUsd: 0,
        summary: {
          filter: settings.filter,
          examples: examples.length,
          kept,
          dropped: { decomposer: counts.decomposer.dropped, solver: counts.solver.dropped },
          teacherCorrect: reachedGold,
        },
      };
    },
  };
}

export const filterStage: StageDefinition = {
  name: 'filter',
  plan: async (context) => [filterUnit(context)],
};
