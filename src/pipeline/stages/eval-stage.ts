/**
 * The eval stage: the pipeline's suite (its chains with `student:NAME` resolved to exported brick
 * directories) run by the eval runner into `eval/`. The input hash covers the suite, the dataset
 * files the data stage wrote and the student bricks' files, so a retrained student reruns the
 * eval. An eval killed midway resumes from its traces journal; an eval whose inputs changed is
 * recomputed (its brick calls still served by the cache, keyed by brick content).
 */
import { join } from 'node:path';
import { recipeVersions } from '../../decoding/registry.js';
import { defaults } from '../../config/defaults.js';
import { reportFileNames } from '../../eval/write-reports.js';
import { runEval } from '../../eval/runner.js';
import { tracesFileName } from '../../eval/eval-state.js';
import type { Suite, SuiteDataset } from '../../eval/suite.js';
import { formatDollars } from '../../eval/report-markdown.js';
import type { ResolvedEval } from '../load-pipeline.js';
import type { PipelineContext, StageDefinition, UnitPlan } from '../stage.js';
import { evalExamplesFileName } from './data-stage.js';

/** The suite the runner gets: file datasets read from the data stage's converted copies. */
export function runnableSuite(evaluation: ResolvedEval, dataDirectory: string): Suite {
  const datasets: SuiteDataset[] = evaluation.datasets.map((dataset) =>
    'file' in dataset
      ? { name: dataset.name, file: join(dataDirectory, evalExamplesFileName(dataset.name)) }
      : dataset,
  );
  return {
    name: evaluation.name,
    datasets,
    chains: evaluation.chains,
    ...(evaluation.limit === undefined ? {} : { limit: evaluation.limit }),
    ...(evaluation.concurrency === undefined ? {} : { concurrency: evaluation.concurrency }),
    ...(evaluation.prices === undefined ? {} : { prices: evaluation.prices }),
  };
}

function evalUnit(context: PipelineContext, evaluation: ResolvedEval): UnitPlan {
  const directory = context.stageDirectory('eval');
  const suite = runnableSuite(evaluation, context.stageDirectory('data'));
  const inputs: Record<string, string> = {};
  for (const dataset of suite.datasets)
    if ('file' in dataset) inputs[`dataset:${dataset.name}`] = dataset.file;
  for (const student of context.loaded.exported) {
    const brick = join(context.stageDirectory('export'), student);
    for (const file of ['brick.json', 'onnx/model.onnx', 'tokenizer.json'])
      inputs[`student:${student}:${file}`] = join(brick, file);
  }
  return {
    id: 'eval',
    settings: {
      suite: { ...suite, datasets: evaluation.datasets },
      prices: { ...defaults.prices, ...suite.prices },
      bootstrap: { seed: defaults.eval.bootstrapSeed, resamples: defaults.eval.bootstrapResamples },
      decodingRecipes: recipeVersions(),
    },
    inputs,
    async run(unit) {
      const result = await runEval({
        suite,
        suiteFile: evaluation.source,
        out: directory,
        rerun: !unit.resume,
        cwd: context.loaded.cwd,
        env: context.env,
        onProgress: (progress) =>
          unit.progress({
            done: progress.done,
            total: progress.total,
            extra: {
              spent: `$${formatDollars(progress.spentUsd)}`,
              saved: `$${formatDollars(progress.savedUsd)}`,
            },
          }),
      });
      return {
        outputs: {
          report: join(directory, reportFileNames.json),
          markdown: join(directory, reportFileNames.markdown),
          html: join(directory, reportFileNames.html),
          traces: join(directory, tracesFileName),
        },
        spentUsd: result.summary.spentUsd,
        savedUsd: result.summary.savedUsd,
        summary: { ...result.summary },
      };
    },
  };
}

export const evalStage: StageDefinition = {
  name: 'eval',
  plan: async (context) =>
    context.loaded.eval === undefined ? [] : [evalUnit(context, context.loaded.eval)],
};
