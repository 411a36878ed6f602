/**
 * `dnc bricks update BRICK --adapter NEW_ADAPTER_DIR [--out DIR] [--json]`: swaps the adapter inside
 * a LoRA adapter brick for a new version of the same base, recording the old version's hash and
 * number in brick.json's lineage (src/export/adapter-brick-operations.ts, docs/bricks.md).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { formatZodError } from '../../data/zod-format.js';
import { UserError } from '../../errors/user-error.js';
import { updateAdapterBrick } from '../../export/adapter-brick-operations.js';
import { log, printJson, printText } from '../output.js';

const updateOptionsSchema = z.strictObject({
  adapter: z
    .string({ error: 'give the new adapter: --adapter DIR (an adapter brick or a PEFT directory)' })
    .min(1),
  out: z.string().min(1).optional(),
  json: z.boolean().optional(),
});

async function runUpdate(brick: string, rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = updateOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UserError(`dnc bricks update: ${formatZodError(parsed.error)}`);
  const options = parsed.data;
  const { outDirectory, manifest } = await updateAdapterBrick({
    brick,
    adapter: options.adapter,
    ...(options.out === undefined ? {} : { outDirectory: options.out }),
  });
  const lineage = manifest.lineage!;
  const replaced = lineage.history.at(-1)!;
  const summary = {
    out: outDirectory,
    version: lineage.version,
    adapterHash: lineage.adapterHash,
    previous: { version: replaced.version, adapterHash: replaced.adapterHash },
    baseWeightsHash: lineage.baseWeightsHash,
  };
  if (options.json === true) printJson(summary);
  else {
    log(
      `adapter version ${replaced.version} (${replaced.adapterHash}) → ${lineage.version} (${lineage.adapterHash})`,
    );
    printText(outDirectory);
  }
}

export function registerBricksUpdate(bricks: Command): void {
  bricks
    .command('update')
    .description('swap the adapter in a LoRA adapter brick for a new version of the same base (lineage kept)')
    .argument('<brick>', 'the adapter brick to update')
    .option('--adapter <dir>', 'the new adapter: an adapter brick or a PEFT directory naming a local base')
    .option('--out <dir>', 'write the updated brick here instead of replacing BRICK')
    .option('--json', 'print one JSON object on stdout')
    .action(runUpdate);
}
