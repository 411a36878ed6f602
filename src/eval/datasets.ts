/**
 * The examples of a suite's datasets: read from a JSONL file of Examples (validated line by
 * line) or generated from a synthetic world split (deterministic for its seed), then cut to
 * the first `limit`. Problems are one-line UserErrors naming the suite key and the file.
 */
import { resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { readJsonlAll } from '../data/jsonl.js';
import { exampleSchema, type Example } from '../data/schemas.js';
import { generateExamples } from '../worlds/index.js';
import type { SuiteDataset } from './suite.js';

export interface LoadedDataset {
  name: string;
  examples: Example[];
}

async function readDatasetFile(file: string, key: string, cwd: string): Promise<Example[]> {
  const path = resolve(cwd, file);
  try {
    return await readJsonlAll(path, exampleSchema);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UserError(
      `${key}: ${message} (a dataset file is JSONL of examples, e.g. from \`dnc data generate\` or \`dnc data convert\`)`,
      { cause: error },
    );
  }
}

function checkUniqueIds(examples: readonly Example[], key: string): void {
  const seen = new Set<string>();
  for (const example of examples) {
    if (seen.has(example.id))
      throw new UserError(
        `${key}: two examples have id "${example.id}"; ids identify examples in traces and resumes, so they must be unique`,
      );
    seen.add(example.id);
  }
}

/**
 * Loads every dataset of a suite, in suite order. `limit` keeps the first N examples of each
 * (an empty dataset is an error: it could not be scored). `cwd` resolves relative file paths.
 */
export async function loadSuiteDatasets(
  datasets: readonly SuiteDataset[],
  options: { limit?: number; cwd?: string; suiteFile?: string } = {},
): Promise<LoadedDataset[]> {
  const loaded: LoadedDataset[] = [];
  for (const [index, dataset] of datasets.entries()) {
    const key = `${options.suiteFile === undefined ? '' : `suite ${options.suiteFile}: `}datasets[${index}] "${dataset.name}"`;
    const examples =
      'file' in dataset
        ? await readDatasetFile(dataset.file, key, options.cwd ?? process.cwd())
        : generateExamples({ world: dataset.world, n: dataset.n, seed: dataset.seed, split: dataset.split });
    checkUniqueIds(examples, key);
    const kept = options.limit === undefined ? examples : examples.slice(0, options.limit);
    if (kept.length === 0) throw new UserError(`${key}: the dataset has no examples; nothing to evaluate`);
    loaded.push({ name: dataset.name, examples: kept });
  }
  return loaded;
}
