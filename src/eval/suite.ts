/**
 * Eval suites (`eval/*.json`, DESIGN.md "Eval suite"): `{ name, datasets, chains, limit?,
 * concurrency?, prices? }`. Datasets are a JSONL file of Examples (`{ name, file }`) or a
 * synthetic world split to generate (`{ name, world, split, n, seed }`). Every object is
 * strict, and every error names the suite file and the key that is wrong.
 */
import { readJsonFile } from '../data/json-file.js';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { chainDecomposers, chainSchema, type Chain } from '../data/schemas.js';
import { formatZodError } from '../data/zod-format.js';
import { parseBrickSpec } from '../runtime/bricks/brick-spec.js';
import { splitNames, worldNames } from '../worlds/index.js';

const datasetNameSchema = z
  .string()
  .min(1, 'a dataset needs a `name` (it labels the report columns)')
  .regex(/^[^/\\]+$/, 'a dataset name may not contain slashes');

export const fileDatasetSchema = z.strictObject({
  name: datasetNameSchema,
  /** A JSONL file of Examples, resolved from the working directory. */
  file: z.string().min(1, '`file` is the path of a JSONL file of examples'),
});

export const worldDatasetSchema = z.strictObject({
  name: datasetNameSchema,
  world: z.enum(worldNames as ['hops', 'math']),
  split: z.enum(splitNames as ['train', 'test', 'ood']),
  n: z.number().int().positive('`n` is how many examples to generate (a positive integer)'),
  seed: z.number().int().nonnegative('`seed` is a non-negative integer'),
});

export type FileDataset = z.infer<typeof fileDatasetSchema>;
export type WorldDataset = z.infer<typeof worldDatasetSchema>;
export type SuiteDataset = FileDataset | WorldDataset;

const priceSchema = z.strictObject({
  inputPerMillion: z.number().finite().nonnegative(),
  outputPerMillion: z.number().finite().nonnegative(),
});

/**
 * A dataset is told apart by its keys (`file` or `world`), so that an error lists the problems
 * of the shape the author meant rather than zod's "no union member matched".
 */
const datasetSchema = z.unknown().transform((value, context): SuiteDataset => {
  const isFile = typeof value === 'object' && value !== null && 'file' in value;
  const isWorld = typeof value === 'object' && value !== null && 'world' in value;
  if (!isFile && !isWorld) {
    context.addIssue({
      code: 'custom',
      message:
        'a dataset is `{ "name", "file": PATH }` or `{ "name", "world": "hops"|"math", "split", "n", "seed" }`',
    });
    return z.NEVER;
  }
  const parsed = (isFile ? fileDatasetSchema : worldDatasetSchema).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) context.addIssue({ ...issue, code: 'custom', path: issue.path });
  return z.NEVER;
});

export const suiteSchema = z
  .strictObject({
    name: z.string().min(1, 'a suite needs a `name` (the report is titled with it)'),
    datasets: z.array(datasetSchema).min(1, 'a suite needs at least one dataset'),
    chains: z.array(chainSchema).min(1, 'a suite needs at least one chain'),
    /** At most this many examples of each dataset (the first ones). */
    limit: z.number().int().positive().optional(),
    /** Examples in flight at once. */
    concurrency: z.number().int().positive().optional(),
    /** Price overrides, merged over the configured price table for this run. */
    prices: z.record(z.string().min(1), priceSchema).optional(),
  })
  .superRefine((suite, context) => {
    const duplicates = (names: string[]) => names.filter((name, index) => names.indexOf(name) !== index);
    for (const name of new Set(duplicates(suite.datasets.map((dataset) => dataset.name))))
      context.addIssue({ code: 'custom', path: ['datasets'], message: `two datasets are named "${name}"` });
    for (const name of new Set(duplicates(suite.chains.map((chain) => chain.name))))
      context.addIssue({ code: 'custom', path: ['chains'], message: `two chains are named "${name}"` });
    suite.chains.forEach((chain, index) => {
      const slots = [
        ...chainDecomposers(chain).map((spec) => ({ role: 'decomposer' as const, spec })),
        { role: 'solver' as const, spec: chain.solver },
      ];
      for (const { role, spec } of slots) {
        if (spec.trim() === '') continue;
        try {
          const parsed = parseBrickSpec(spec);
          if (role === 'solver' && parsed.kind === 'gold')
            context.addIssue({
              code: 'custom',
              path: ['chains', index, role],
              message: "'gold' is a decomposer only (it replays gold decompositions); pick a solver brick",
            });
        } catch (error) {
          context.addIssue({
            code: 'custom',
            path: ['chains', index, role],
            message: (error as Error).message,
          });
        }
      }
    });
  });

export type Suite = z.infer<typeof suiteSchema>;

/** Validates a parsed suite object; `source` names it in errors (the file path). */
export function parseSuite(value: unknown, source: string): Suite {
  const parsed = suiteSchema.safeParse(value);
  if (!parsed.success)
    throw new UserError(`suite ${source}: ${formatZodError(parsed.error)} (see DESIGN.md "Eval suite")`);
  return parsed.data;
}

/** Reads and validates a suite file. */
export async function loadSuite(file: string): Promise<Suite> {
  const value = await readJsonFile(file, {
    what: 'suite file',
    missingHint: `check --suite; paths resolve from ${process.cwd()}`,
  });
  return parseSuite(value, file);
}

/** The specs a suite's chains name, each once, in first-use order. */
export function suiteBrickSpecs(chains: readonly Chain[]): string[] {
  const specs = new Set<string>();
  for (const chain of chains) {
    for (const spec of chainDecomposers(chain)) specs.add(spec);
    specs.add(chain.solver);
  }
  return [...specs];
}
