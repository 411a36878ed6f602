/**
 * The filter stage: the training sets (`filter/train-decomposer.jsonl`, `filter/train-solver.jsonl`)
 * built from the collect journals with the pipeline's filter: `all` keeps every valid
 * decomposition (SD-T), `correct` only those whose chain reached the gold answer (SD-R). It makes
 * no teacher request, so changing the filter never re-collects.
 */
import { join } from 'node:path';
import { CollectionState } from '../../collect/collection-state.js';
import { journalFileNames } from '../../collect/run-collection.js';
import { trainingFileNames, writeTrainingSets } from '../../collect/training-sets.js';
import { readJsonlAll } from '../../data/jsonl.js';
import { decompositionRecordSchema, exampleSchema, solutionRecordSchema } from '../../data/schemas.js';
import type { PipelineContext, StageDefinition, UnitPlan } from '../stage.js';
import { collectKeySettings, collectSettings, pipelineTeacher } from './collect-stage.js';
import { trainExamplesFileName } from './data-stage.js';

/** The training file of a role, as the filter stage writes it. */
export function trainingFile(filterDirectory: string, role: 'decomposer' | 'solver'): string {
  return join(filterDirectory, trainingFileNames[role]);
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
