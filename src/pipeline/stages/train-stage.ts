/**
 * The train stage: one unit per student, trained by the trainer (src/train/) on the filter stage's
 * training file of its role into `train/NAME/`. A unit whose earlier execution with the same
 * input hash stopped (killed, failed) resumes from its newest checkpoint; any other unit that
 * has to run starts afresh in an emptied directory.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../errors/user-error.js';
import { checkpointFiles } from '../../export/checkpoint.js';
import { tokenizerConfigFileName, tokenizerFileName } from '../../tokenizer/tokenizer-files.js';
import { trainStudent } from '../../train/train-loop.js';
import { findLatestCheckpoint } from '../../train/training-checkpoint.js';
import type { TrainingOverrides } from '../../train/training-settings.js';
import type { ResolvedStudent } from '../load-pipeline.js';
import type { PipelineContext, StageDefinition, UnitPlan } from '../stage.js';
import { trainingFile } from './filter-stage.js';
import { remoteTrainUnit } from './remote-train-unit.js';
import { readJsonlAll } from '../../data/jsonl.js';
import { loraDefaults, type LoraSettings } from '../../student/lora.js';
import { chatExampleSchema } from '../../data/schemas.js';

/** The directory a student trains in; its top-level files are the latest checkpoint's export view. */
export function studentTrainDirectory(context: PipelineContext, student: string): string {
  return join(context.stageDirectory('train'), student);
}

/** The files of a train directory that export reads. */
export function checkpointViewFiles(directory: string): Record<string, string> {
  return {
    weights: join(directory, checkpointFiles.weights),
    manifest: join(directory, checkpointFiles.manifest),
    tokenizer: join(directory, tokenizerFileName),
    tokenizerConfig: join(directory, tokenizerConfigFileName),
  };
}

function overridesOf(student: ResolvedStudent): TrainingOverrides {
  // Decoding settings belong to the export: changing them must not retrain the student.
  const {
    name: _name,
    role: _role,
    preset: _preset,
    resolvedPreset: _resolved,
    decoding: _decoding,
    backend: _backend,
    base: _base,
    chatTemplate: _chatTemplate,
    lora: _lora,
    ...overrides
  } = student;
  return overrides;
}

/** A pipeline student's LoRA settings, with PEFT's defaults filled in. */
function loraOf(student: ResolvedStudent): LoraSettings | undefined {
  if (student.lora === undefined) return undefined;
  return {
    rank: student.lora.rank,
    alpha: student.lora.alpha ?? loraDefaults.alpha,
    dropout: student.lora.dropout ?? loraDefaults.dropout,
    targets: student.lora.targets ?? [...loraDefaults.targets],
  };
}

function trainUnit(context: PipelineContext, student: ResolvedStudent): UnitPlan {
  const directory = studentTrainDirectory(context, student.name);
  const dataFile = trainingFile(context.stageDirectory('filter'), student.role);
  if (student.backend === 'openai') return remoteTrainUnit(context, student, directory, dataFile);
  const { teacher } = context.loaded.pipeline;
  return {
    id: student.name,
    settings: {
      role: student.role,
      preset: student.resolvedPreset,
      overrides: overridesOf(student),
      teacher,
      ...(student.base === undefined ? {} : { base: student.base, lora: loraOf(student) ?? null }),
    },
    inputs: {
      data: dataFile,
      ...(student.base === undefined ? {} : baseInputs(student.base)),
      ...(student.chatTemplate === undefined ? {} : { chatTemplate: student.chatTemplate }),
    },
    async run(unit) {
      const examples = await readJsonlAll(dataFile, chatExampleSchema);
      if (examples.length === 0)
        throw new UserError(
          `student "${student.name}": the filter stage kept no ${student.role} examples in ${dataFile}; ` +
            'see collect/ for the teacher\'s answers, or use collect.filter "all"',
        );
      const resume = unit.resume && (await findLatestCheckpoint(directory)) !== undefined;
      if (!resume) await rm(directory, { recursive: true, force: true });
      const summary = await trainStudent({
        dataFile,
        role: student.role,
        preset: student.preset,
        outDirectory: directory,
        resume,
        overrides: overridesOf(student),
        teacher,
        log: unit.log,
        base: student.base,
        chatTemplateFile: student.chatTemplate,
        lora: loraOf(student),
      });
      return { outputs: checkpointViewFiles(directory), spentUsd: 0, savedUsd: 0, summary: { ...summary } };
    },
  };
}

/** The base's files whose content the unit's input hash covers: its config and tokenizer (the weights are hashed by the trainer). */
function baseInputs(directory: string): Record<string, string> {
  return {
    baseConfig: join(directory, 'config.json'),
    baseTokenizer: join(directory, tokenizerFileName),
    baseTokenizerConfig: join(directory, tokenizerConfigFileName),
  };
}

export const trainStage: StageDefinition = {
  name: 'train',
  plan: async (context) => context.loaded.students.map((student) => trainUnit(context, student)),
};
