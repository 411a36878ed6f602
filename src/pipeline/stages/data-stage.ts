/**
 * The data stage: every training dataset (a JSONL file of examples, a published format converted
 * on the way, or a generated synthetic world split) cut to its `limit` and written as one
 * `data/train.jsonl`; every eval dataset given as a file written as `data/eval-NAME.jsonl` (so
 * the eval stage reads examples, whatever format the user downloaded).
 */
import { join, resolve } from 'node:path';
import { UserError } from '../../errors/user-error.js';
import { convertFileWithSummary, describeConversion } from '../../data/convert/index.js';
import { readJsonlAll, writeJsonlAtomic } from '../../data/jsonl.js';
import { exampleSchema, type Example } from '../../data/schemas.js';
import { generateExamples } from '../../worlds/index.js';
import type { PipelineDataset } from '../pipeline-schema.js';
import type { PipelineContext, StageDefinition, UnitPlan } from '../stage.js';

export const trainExamplesFileName = 'train.jsonl';

export function evalExamplesFileName(dataset: string): string {
  return `eval-${dataset}.jsonl`;
}

/** A dataset's examples; a converted file's drops (unclean socratic steps, ...) are logged. */
async function loadDataset(
  dataset: PipelineDataset,
  key: string,
  cwd: string,
  log: (message: string) => void,
): Promise<Example[]> {
  if (!('file' in dataset)) {
    const { world, split, n, seed } = dataset;
    return generateExamples({ world, split, n, seed });
  }
  const path = resolve(cwd, dataset.file);
  try {
    let examples: Example[];
    if (dataset.format === undefined) examples = await readJsonlAll(path, exampleSchema);
    else {
      const conversion = await convertFileWithSummary(dataset.format, path);
      examples = conversion.examples;
      log(`${key} "${dataset.name}" (${dataset.format}): ${describeConversion(conversion.summary)}`);
    }
    return dataset.limit === undefined ? examples : examples.slice(0, dataset.limit);
  } catch (error) {
    const hint =
      dataset.format === undefined
        ? 'without `format` a dataset file must hold examples (JSONL); give `format` to convert a published file'
        : `check that it is the published ${dataset.format} file`;
    throw new UserError(`${key} "${dataset.name}": ${(error as Error).message} (${hint})`, { cause: error });
  }
}

/** Concatenates datasets, refusing an example id used twice (ids key journals and traces). */
function concatenate(parts: readonly { name: string; examples: Example[] }[], key: string): Example[] {
  const owner = new Map<string, string>();
  const all: Example[] = [];
  for (const part of parts) {
    for (const example of part.examples) {
      const first = owner.get(example.id);
      if (first !== undefined)
        throw new UserError(
          `${key}: example id "${example.id}" appears in "${first}" and in "${part.name}"; ` +
            'ids key the collection journals, so they must be unique across the training datasets',
        );
      owner.set(example.id, part.name);
      all.push(example);
    }
  }
  return all;
}

function dataUnit(context: PipelineContext): UnitPlan {
  const { loaded } = context;
  const directory = context.stageDirectory('data');
  const evalFiles = (loaded.eval?.datasets ?? []).filter((dataset) => 'file' in dataset);
  const inputs: Record<string, string> = {};
  for (const dataset of loaded.pipeline.datasets)
    if ('file' in dataset) inputs[`train:${dataset.name}`] = resolve(loaded.cwd, dataset.file);
  for (const dataset of evalFiles)
    if ('file' in dataset) inputs[`eval:${dataset.name}`] = resolve(loaded.cwd, dataset.file);
  return {
    id: 'data',
    settings: { train: loaded.pipeline.datasets, eval: evalFiles },
    inputs,
    async run(unit) {
      const parts: { name: string; examples: Example[] }[] = [];
      for (const [index, dataset] of loaded.pipeline.datasets.entries())
        parts.push({
          name: dataset.name,
          examples: await loadDataset(dataset, `datasets[${index}]`, loaded.cwd, unit.log),
        });
      const examples = concatenate(parts, 'datasets');
      const outputs: Record<string, string> = { train: join(directory, trainExamplesFileName) };
      await writeJsonlAtomic(outputs.train, examples, exampleSchema);
      const evalCounts: Record<string, number> = {};
      for (const [index, dataset] of evalFiles.entries()) {
        const evalExamples = await loadDataset(dataset, `eval.datasets[${index}]`, loaded.cwd, unit.log);
        const file = join(directory, evalExamplesFileName(dataset.name));
        await writeJsonlAtomic(file, evalExamples, exampleSchema);
        outputs[`eval:${dataset.name}`] = file;
        evalCounts[dataset.name] = evalExamples.length;
      }
      return {
        outputs,
        spentUsd: 0,
        savedUsd: 0,
        summary: {
          examples: examples.length,
          datasets: Object.fromEntries(parts.map((part) => [part.name, part.examples.length])),
          evalDatasets: evalCounts,
        },
      };
    },
  };
}

export const dataStage: StageDefinition = {
  name: 'data',
  plan: async (context) => [dataUnit(context)],
};
