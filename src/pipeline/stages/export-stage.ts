/**
 * The export stage: each exported student's latest checkpoint (`train/NAME/`) becomes a brick
 * directory `export/NAME/` in the Hugging Face ONNX layout, the directory eval chains name as
 * `student:NAME`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { brickDirectoryFiles } from '../../eval/brick-identity.js';
import { readCheckpoint } from '../../export/checkpoint.js';
import { checkBrickDecoding, describeRejections } from '../../decoding/check-recipe.js';
import { UserError } from '../../errors/user-error.js';
import { exportBrick } from '../../export/export-brick.js';
import { studentBrickDirectory, type ResolvedStudent } from '../load-pipeline.js';
import type { PipelineContext, StageDefinition, UnitPlan } from '../stage.js';
import { remoteExportUnit } from './remote-export-unit.js';
import { trainingFile } from './filter-stage.js';
import { checkpointViewFiles, studentTrainDirectory } from './train-stage.js';

function exportUnit(context: PipelineContext, student: ResolvedStudent): UnitPlan {
  const trainDirectory = studentTrainDirectory(context, student.name);
  const outDirectory = studentBrickDirectory(context.loaded.runDirectory, student.name);
  if (student.backend === 'openai') return remoteExportUnit(student, trainDirectory, outDirectory);
  // Decoding recipes are off unless the student's `decoding` names one (src/decoding).
  const decoding = student.decoding;
  const quantize = context.loaded.pipeline.export?.quantize;
  return {
    id: student.name,
    settings: { role: student.role, decoding, ...(quantize !== undefined ? { quantize } : {}) },
    inputs: checkpointViewFiles(trainDirectory),
    async run() {
      const checkpoint = await readCheckpoint(trainDirectory);
      const result = await exportBrick({ ...checkpoint, outDirectory, decoding, quantize });
      // A recipe stays on only if it forbids no teacher token of the student's own training data.
      const check = await checkBrickDecoding(
        outDirectory,
        trainingFile(context.stageDirectory('filter'), student.role),
      );
      if (check !== undefined && check.rejected > 0)
        throw new UserError(
          `student "${student.name}": ${describeRejections(check)}; drop the student's "decoding" or fix the recipe ` +
            '(`dnc decoding check` shows every rejection)',
        );
      const outputs: Record<string, string> = {};
      for (const file of brickDirectoryFiles) {
        const path = join(outDirectory, file);
        if (existsSync(path)) outputs[file] = path;
      }
      return {
        outputs,
        spentUsd: 0,
        savedUsd: 0,
        summary: {
          brick: outDirectory,
          role: result.manifest.role,
          parameters: result.manifest.parameters,
          modelBytes: result.modelBytes,
          ...(check === undefined
            ? {}
            : {
                decodingCheck: `${check.recipe}: 0 of ${check.decompositions} training decompositions rejected`,
              }),
        },
      };
    },
  };
}

export const exportStage: StageDefinition = {
  name: 'export',
  plan: async (context) =>
    context.loaded.students
      .filter((student) => context.loaded.exported.includes(student.name))
      .map((student) => exportUnit(context, student)),
};
