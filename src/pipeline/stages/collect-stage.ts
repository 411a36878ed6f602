/**
 * The collect stage: the teacher decomposes (and solves from its own decomposition) every
 * training example, through the collect module's crash-safe journals in `collect/`. A rerun or a
 * resume never pays for a key that is already answered, whatever changed in the pipeline, so
 * this stage always continues its journals. It logs (and its summary counts) the examples left
 * without a valid decomposition; the filter stage says what each training set dropped after that.
 */
import { join } from 'node:path';
import { journalFileNames, runCollection } from '../../collect/run-collection.js';
import { dropReasonText } from '../../collect/training-sets.js';
import type { CollectSettings } from '../../collect/collection-state.js';
import { defaults } from '../../config/defaults.js';
import { readJsonlAll } from '../../data/jsonl.js';
import { exampleSchema } from '../../data/schemas.js';
import { createTeacher } from '../../collect/create-teacher.js';
import type { PriceTable } from '../../teacher/pricing.js';
import type { Teacher } from '../../teacher/types.js';
import type { Pipeline } from '../pipeline-schema.js';
import type { PipelineContext, StageDefinition, UnitPlan } from '../stage.js';
import { trainExamplesFileName } from './data-stage.js';

export interface ResolvedCollectSettings extends CollectSettings {
  concurrency: number;
  timeoutMs: number;
  maxRetries: number;
  rpm?: number;
  tpm?: number;
  prices: PriceTable;
}

/** The pipeline's collection settings over the configured defaults. */
export function collectSettings(pipeline: Pipeline): ResolvedCollectSettings {
  const settings = pipeline.collect ?? {};
  return {
    filter: settings.filter ?? defaults.collect.filter,
    secondSample: settings.secondSample ?? defaults.collect.secondSample,
    maxSubquestions: settings.maxSubquestions ?? defaults.prompts.maxSubquestions,
    maxAttempts: settings.maxAttempts ?? defaults.collect.maxAttempts,
    concurrency: settings.concurrency ?? defaults.collect.concurrency,
    timeoutMs: settings.timeoutMs ?? defaults.collect.requestTimeoutMs,
    maxRetries: settings.maxRetries ?? defaults.collect.maxRetries,
    ...(settings.rpm === undefined ? {} : { rpm: settings.rpm }),
    ...(settings.tpm === undefined ? {} : { tpm: settings.tpm }),
    prices: { ...defaults.prices, ...settings.prices },
  };
}

/** The pipeline's teacher; remote endpoints come from `env` (OPENAI_BASE_URL, OPENAI_API_KEY). */
export async function pipelineTeacher(
  pipeline: Pipeline,
  env: NodeJS.ProcessEnv,
  log: (message: string) => void,
): Promise<Teacher> {
  const settings = collectSettings(pipeline);
  return createTeacher(pipeline.teacher, {
    prices: settings.prices,
    openai: {
      ...(env.OPENAI_BASE_URL === undefined ? {} : { baseURL: env.OPENAI_BASE_URL }),
      ...(env.OPENAI_API_KEY === undefined ? {} : { apiKey: env.OPENAI_API_KEY }),
      concurrency: settings.concurrency,
      timeoutMs: settings.timeoutMs,
      retry: { maxRetries: settings.maxRetries },
      requestsPerMinute: settings.rpm,
      tokensPerMinute: settings.tpm,
      maxOutputTokens: defaults.collect.maxOutputTokens,
      temperature: defaults.collect.temperature,
      sampleTemperature: defaults.collect.sampleTemperature,
      onRetry: ({ error, delayMs }) =>
        log(`retrying in ${Math.round(delayMs)} ms: ${(error as Error).message}`),
    },
  });
}

/**
 * What decides which requests a collection makes: the filter only matters with second samples,
 * and concurrency, timeouts and rate limits change how, not what.
 */
export function collectKeySettings(pipeline: Pipeline): unknown {
  const settings = collectSettings(pipeline);
  return {
    teacher: pipeline.teacher,
    maxSubquestions: settings.maxSubquestions,
    maxAttempts: settings.maxAttempts,
    secondSample: settings.secondSample,
    ...(settings.secondSample ? { filter: settings.filter } : {}),
  };
}

function collectUnit(context: PipelineContext): UnitPlan {
  const { pipeline } = context.loaded;
  const directory = context.stageDirectory('collect');
  const examplesFile = join(context.stageDirectory('data'), trainExamplesFileName);
  return {
    id: 'collect',
    settings: collectKeySettings(pipeline),
    inputs: { examples: examplesFile },
    async run(unit) {
      const settings = collectSettings(pipeline);
      const examples = await readJsonlAll(examplesFile, exampleSchema);
      const teacher = await pipelineTeacher(pipeline, context.env, unit.log);
      const summary = await runCollection({
        examples,
        teacher,
        outDir: directory,
        concurrency: settings.concurrency,
        settings: {
          maxSubquestions: settings.maxSubquestions,
          maxAttempts: settings.maxAttempts,
          filter: settings.filter,
          secondSample: settings.secondSample,
        },
        onProgress: ({ done, total, costUsd }) =>
          unit.progress({ done, total, extra: { $: costUsd.toFixed(4) } }),
      });
      const { files: _files, ...rest } = summary;
      unit.log(
        `collect: ${summary.ok} of ${summary.total} examples have a valid decomposition; dropped ` +
          `${summary.invalid} invalid (${dropReasonText['decomposition-invalid']} in ${settings.maxAttempts} attempts) and ` +
          `${summary.error} with errors (${dropReasonText['decomposition-error']}); solutions: ` +
          `${summary.solutions.correct} of ${summary.solutions.ok} reached the gold answer`,
      );
      return {
        outputs: {
          decompositions: join(directory, journalFileNames.decompositions),
          solutions: join(directory, journalFileNames.solutions),
        },
        spentUsd: summary.costUsd,
        savedUsd: summary.savedUsd,
        summary: rest,
        ...(summary.error > 0
          ? {
              incomplete: `${summary.error} examples got no answer from the teacher (errors); a rerun retries them`,
            }
          : {}),
      };
    },
  };
}

export const collectStage: StageDefinition = {
  name: 'collect',
  plan: async (context) => [collectUnit(context)],
};
