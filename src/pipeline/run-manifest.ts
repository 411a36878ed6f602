/**
 * `runs/<name>/run.json`: the lineage of a run. The pipeline's hash, and per stage its status,
 * times, input hash (settings + input files), outputs with their content hashes, and dollars; the
 * seeds and package versions. It is rewritten atomically after every change of a stage or unit, so
 * a killed run leaves a valid file that says where it stopped.
 *
 * A stage is made of units (one per student for `train` and `export`, one otherwise); each unit is
 * skipped, resumed or rerun on its own.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { formatZodError } from '../data/zod-format.js';

export const stageNames = ['data', 'collect', 'filter', 'train', 'export', 'eval'] as const;
export type StageName = (typeof stageNames)[number];

export const runFileName = 'run.json';

const statusSchema = z.enum(['pending', 'running', 'done', 'failed']);
export type StageStatus = z.infer<typeof statusSchema>;

export const unitEntrySchema = z.strictObject({
  status: statusSchema,
  inputHash: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  seconds: z.number().nullable(),
  /** Output files by label. */
  outputs: z.record(z.string(), z.string()),
  /** Content hash of every output file, by label; checked before a unit is skipped. */
  outputHashes: z.record(z.string(), z.string()),
  spentUsd: z.number(),
  savedUsd: z.number(),
  summary: z.record(z.string(), z.unknown()),
  error: z.string().optional(),
  /** Why a finished unit is not complete (e.g. teacher requests that failed): the next run retries it. */
  incomplete: z.string().optional(),
});
export type UnitEntry = z.infer<typeof unitEntrySchema>;

export const stageEntrySchema = z.strictObject({
  status: statusSchema,
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  seconds: z.number().nullable(),
  /** Hash over the input hashes of the stage's units. */
  inputHash: z.string().nullable(),
  outputs: z.record(z.string(), z.string()),
  spentUsd: z.number(),
  savedUsd: z.number(),
  units: z.record(z.string(), unitEntrySchema),
});
export type StageEntry = z.infer<typeof stageEntrySchema>;

export const runManifestSchema = z.strictObject({
  version: z.literal(1),
  name: z.string(),
  pipelineFile: z.string(),
  pipelineHash: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Dollars over every execution of this run's stages (reruns served from journals and caches add $0). */
  dollars: z.strictObject({ spentUsd: z.number(), savedUsd: z.number() }),
  seeds: z.record(z.string(), z.number()),
  versions: z.record(z.string(), z.string()),
  stages: z.strictObject(
    Object.fromEntries(stageNames.map((name) => [name, stageEntrySchema])) as Record<
      StageName,
      typeof stageEntrySchema
    >,
  ),
});
export type RunManifest = z.infer<typeof runManifestSchema>;

export function emptyStage(): StageEntry {
  return {
    status: 'pending',
    startedAt: null,
    finishedAt: null,
    seconds: null,
    inputHash: null,
    outputs: {},
    spentUsd: 0,
    savedUsd: 0,
    units: {},
  };
}

/** Reads run.json, or undefined when the run directory has none yet. */
export async function readRunManifest(file: string): Promise<RunManifest | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `${file}: invalid JSON (${(error as Error).message}); delete it (or run with --force) to start the run over`,
    );
  }
  const parsed = runManifestSchema.safeParse(value);
  if (!parsed.success)
    throw new UserError(
      `${file}: not a run manifest this dnc understands (${formatZodError(parsed.error)}); delete it to start over`,
    );
  return parsed.data;
}

export async function writeRunManifest(file: string, manifest: RunManifest): Promise<void> {
  const updated = runManifestSchema.parse({ ...manifest, updatedAt: new Date().toISOString() });
  await writeFileAtomic(file, `${JSON.stringify(updated, null, 2)}\n`);
}
