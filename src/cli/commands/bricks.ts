/**
 * `dnc bricks ...`: operations on brick directories. `merge` combines LoRA adapter bricks,
 * `update` swaps a brick's adapter version, `show` prints a brick's manifest and lineage
 * (docs/bricks.md).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { z } from 'zod';
import {
  adapterBrickManifestSchema,
  type AdapterBrickManifest,
} from '../../bricks/adapter-brick-manifest.js';
import { brickManifestFileName, brickManifestSchema } from '../../bricks/brick-manifest.js';
import { formatZodError } from '../../data/zod-format.js';
import { UserError } from '../../errors/user-error.js';
import { remoteBrickManifestSchema } from '../../train/remote/remote-brick-manifest.js';
import { printJson, printText } from '../output.js';
import { registerBricksMerge } from './bricks-merge.js';
import { registerBricksUpdate } from './bricks-update.js';

const schemas: Record<string, z.ZodType> = {
  onnx: brickManifestSchema,
  'lora-adapter': adapterBrickManifestSchema,
  openai: remoteBrickManifestSchema,
};

async function readAnyManifest(
  directory: string,
): Promise<{ kind: string; manifest: Record<string, unknown> }> {
  const file = join(directory, brickManifestFileName);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file}: not readable JSON (${(error as Error).message}); give a brick directory`, {
      cause: error,
    });
  }
  const kind = String((json as { kind?: unknown } | null)?.kind);
  const schema = schemas[kind];
  if (schema === undefined)
    throw new UserError(
      `${file}: unknown brick kind ${JSON.stringify(kind)}; dnc writes ${Object.keys(schemas).join(', ')}`,
    );
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`${file}: not a valid ${kind} brick manifest: ${formatZodError(parsed.error)}`);
  return { kind, manifest: parsed.data as Record<string, unknown> };
}

function adapterLines(manifest: AdapterBrickManifest): string[] {
  const lines = [`base: ${manifest.base}`, `adapter: ${manifest.adapter}`];
  const lineage = manifest.lineage;
  if (lineage === undefined) return [...lines, 'lineage: none recorded (exported before lineage)'];
  lines.push(
    `version ${lineage.version} (${lineage.createdAt}), adapter ${lineage.adapterHash}, base weights ${lineage.baseWeightsHash}`,
  );
  if (lineage.source !== undefined) lines.push(`from ${lineage.source}`);
  if (lineage.combination !== undefined)
    lines.push(
      `combination ${lineage.combination.type} of:`,
      ...lineage.combination.parents.map(
        (parent) =>
          `  ${parent.name} × ${parent.weight} (r ${parent.rank}, alpha ${parent.alpha}, ${parent.adapterHash}) ${parent.path}`,
      ),
    );
  for (const version of lineage.history)
    lines.push(`replaced version ${version.version} (${version.adapterHash}) at ${version.replacedAt}`);
  return lines;
}

async function runShow(brick: string, options: { json?: boolean }): Promise<void> {
  const directory = resolve(brick);
  const { kind, manifest } = await readAnyManifest(directory);
  if (options.json === true) {
    printJson({ directory, kind, manifest });
    return;
  }
  const lines = [`${directory}: ${kind} ${String(manifest.role)} brick`];
  if (kind === 'lora-adapter') lines.push(...adapterLines(manifest as AdapterBrickManifest));
  else lines.push(`lineage: ${JSON.stringify(manifest.lineage)}`);
  printText(lines.join('\n'));
}

export function register(program: Command): void {
  const bricks = program
    .command('bricks')
    .description(
      'operate on bricks: combine and update LoRA adapter bricks, show a manifest and its lineage',
    );
  registerBricksMerge(bricks);
  registerBricksUpdate(bricks);
  bricks
    .command('show')
    .description("print a brick's manifest and lineage (brick.json)")
    .argument('<brick>', 'brick directory')
    .option('--json', 'print one JSON object on stdout')
    .action(runShow);
}
