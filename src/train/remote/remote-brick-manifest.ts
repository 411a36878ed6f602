/**
 * `brick.json` of a remotely fine-tuned brick: a brick directory whose model lives on an
 * OpenAI-compatible service. It names the model as a brick spec (`openai:ft:...`) and keeps the
 * lineage (base, data hashes, job id, trained tokens, dollars), so `dnc eval`, `dnc ask` and
 * `dnc serve` load the directory like any other brick (the registry reads `model`).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../data/jsonl.js';
import { formatZodError } from '../../data/zod-format.js';
import { brickManifestFileName, brickRoleSchema } from '../../bricks/brick-manifest.js';

export const remoteLineageSchema = z.strictObject({
  backend: z.literal('openai'),
  base: z.string().min(1),
  /** The service the job ran on (`OPENAI_BASE_URL`). */
  service: z.string().min(1),
  dataHash: z.string().min(1),
  validationHash: z.string().min(1).nullable(),
  teacher: z.string().min(1).nullable(),
  jobId: z.string().min(1),
  trainingFileId: z.string().min(1),
  validationFileId: z.string().min(1).nullable(),
  epochs: z.number().int().positive().nullable(),
  trainedTokens: z.number().int().nonnegative().nullable(),
  /** Training dollars: trained tokens × the base's training price (0 when the price is unknown). */
  costUsd: z.number().nonnegative(),
});

export const remoteBrickManifestSchema = z.strictObject({
  specificationVersion: z.literal('v1'),
  role: brickRoleSchema,
  kind: z.literal('openai'),
  /** The brick spec of the fine-tuned model, `openai:ft:...`. */
  model: z.string().regex(/^openai:.+/, 'model is a brick spec `openai:MODEL`'),
  lineage: remoteLineageSchema,
  metrics: z.record(z.string(), z.number().nullable()),
});
export type RemoteBrickManifest = z.infer<typeof remoteBrickManifestSchema>;

export async function writeRemoteBrickManifest(
  directory: string,
  manifest: RemoteBrickManifest,
): Promise<void> {
  const checked = remoteBrickManifestSchema.parse(manifest);
  await writeFileAtomic(join(directory, brickManifestFileName), `${JSON.stringify(checked, null, 2)}\n`);
}

/**
 * The `openai:MODEL` spec a brick directory stands for when its brick.json has kind `openai`;
 * undefined for any other directory (a missing or local manifest is the ONNX loader's to judge).
 */
export async function remoteBrickSpec(directory: string): Promise<string | undefined> {
  const file = join(directory, brickManifestFileName);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  if ((json as { kind?: unknown } | null)?.kind !== 'openai') return undefined;
  const parsed = remoteBrickManifestSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `${file}: not a valid remote brick manifest: ${formatZodError(parsed.error)}; rerun \`dnc train --backend openai\` into its directory`,
    );
  return parsed.data.model;
}

/** True when `directory` holds a brick.json of kind `openai` (read synchronously, for placement decisions). */
export function isRemoteBrickDirectory(directory: string): boolean {
  try {
    return (
      (JSON.parse(readFileSync(join(directory, brickManifestFileName), 'utf8')) as { kind?: unknown })
        .kind === 'openai'
    );
  } catch {
    return false;
  }
}
