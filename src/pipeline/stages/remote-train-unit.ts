/**
 * The train unit of a student with `backend: "openai"`: the filter stage's training file is
 * fine-tuned by an OpenAI-compatible service (src/train/remote/), and the unit's directory ends
 * as a brick directory naming the fine-tuned model. The remote journal in that directory makes a
 * killed pipeline re-attach to the same uploads and job; the budget is the student's `maxUsd`.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defaults } from '../../config/defaults.js';
import { brickManifestFileName } from '../../bricks/brick-manifest.js';
import { FineTuningClient } from '../../train/remote/fine-tuning-client.js';
import { runRemoteTraining } from '../../train/remote/run-remote-training.js';
import type { ResolvedStudent } from '../load-pipeline.js';
import type { PipelineContext, UnitPlan } from '../stage.js';

export function remoteTrainUnit(
  context: PipelineContext,
  student: ResolvedStudent,
  directory: string,
  dataFile: string,
): UnitPlan {
  const { teacher } = context.loaded.pipeline;
  const base = student.base as string; // pipeline-schema.ts requires it for backend openai
  return {
    id: student.name,
    // The budget and the poll interval change nothing the service trains: not settings.
    settings: {
      role: student.role,
      backend: 'openai',
      base,
      epochs: student.epochs,
      suffix: student.suffix,
      seed: student.seed,
      teacher,
    },
    inputs: { data: dataFile },
    async run(unit) {
      // A run with other inputs is another job: its directory starts empty. A resumed one re-attaches.
      if (!unit.resume) await rm(directory, { recursive: true, force: true });
      const client = new FineTuningClient({
        baseURL: context.env.OPENAI_BASE_URL,
        apiKey: context.env.OPENAI_API_KEY,
        onRetry: ({ error }) => unit.log(`${student.name}: ${(error as Error).message}; retrying`),
      });
      const summary = await runRemoteTraining({
        client,
        base,
        role: student.role,
        dataFile,
        outDirectory: directory,
        epochs: student.epochs,
        suffix: student.suffix,
        seed: student.seed,
        teacher,
        maxUsd: student.maxUsd ?? defaults.fineTuning.maxUsd,
        yes: false,
        pollIntervalMs: student.pollIntervalMs ?? defaults.fineTuning.pollIntervalMs,
        log: unit.log,
      });
      return {
        outputs: { brick: join(directory, brickManifestFileName) },
        spentUsd: summary.costUsd,
        savedUsd: 0,
        summary: { ...summary },
      };
    },
  };
}
