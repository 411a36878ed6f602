/**
 * `dnc bricks merge A B [C…] [--weights 0.5,0.5] --out C [--role R] [--json]`: combines LoRA
 * adapter bricks of one base into one adapter brick, exactly (PEFT's `add_weighted_adapter` with
 * combination_type "cat": ΔW = Σ w_i (α_i / r_i) B_i A_i, ranks add up; or "svd" with --rank R, the
 * best rank-R approximation of that sum). See
 * src/export/adapter-combination.ts and docs/bricks.md.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { brickRoleSchema } from '../../bricks/brick-manifest.js';
import { formatZodError } from '../../data/zod-format.js';
import { UserError } from '../../errors/user-error.js';
import { mergeAdapterBricks } from '../../export/adapter-brick-operations.js';
import { log, printJson, printText } from '../output.js';

const weightListSchema = z
  .string()
  .transform((text) => text.split(',').map((part) => Number(part.trim())))
  .refine((weights) => weights.every((weight) => Number.isFinite(weight)), {
    message: '--weights takes comma-separated numbers, e.g. --weights 0.5,0.5',
  });

const mergeOptionsSchema = z.strictObject({
  out: z.string({ error: 'give the directory of the merged brick: --out DIR' }).min(1),
  weights: weightListSchema.optional(),
  role: brickRoleSchema.optional(),
  combination: z
    .enum(['cat', 'svd'], {
      error:
        '--combination takes cat (exact concatenation) or svd (its best rank-R approximation, with --rank R)',
    })
    .default('cat'),
  rank: z.coerce
    .number()
    .int('--rank takes a positive integer')
    .positive('--rank takes a positive integer')
    .optional(),
  json: z.boolean().optional(),
});

async function runMerge(bricks: string[], rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = mergeOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UserError(`dnc bricks merge: ${formatZodError(parsed.error)}`);
  const options = parsed.data;
  const result = await mergeAdapterBricks({
    bricks,
    outDirectory: options.out,
    ...(options.weights === undefined ? {} : { weights: options.weights }),
    combination: options.combination,
    ...(options.rank === undefined ? {} : { rank: options.rank }),
    ...(options.role === undefined ? {} : { role: options.role }),
  });
  const parents = result.manifest.lineage?.combination?.parents ?? [];
  const summary = {
    out: result.outDirectory,
    combination: options.combination,
    rank: result.rank,
    targets: result.targets,
    adapterHash: result.manifest.lineage?.adapterHash,
    baseWeightsHash: result.manifest.lineage?.baseWeightsHash,
    parents: parents.map((parent) => ({ name: parent.name, weight: parent.weight, rank: parent.rank })),
  };
  if (options.json === true) printJson(summary);
  else {
    log(
      `merged ${parents.map((parent) => `${parent.name} × ${parent.weight}`).join(' + ')} (rank ${result.rank}, ${result.targets.join(', ')})`,
    );
    printText(result.outDirectory);
  }
}

export function registerBricksMerge(bricks: Command): void {
  bricks
    .command('merge')
    .description(
      'combine LoRA adapter bricks of one base into one adapter brick (exact weighted sum of their changes)',
    )
    .argument(
      '<bricks...>',
      'adapter bricks (dnc export RUN --adapter-only) or PEFT directories naming a local base',
    )
    .option('--weights <list>', 'one weight per brick, comma-separated (default: equal weights summing to 1)')
    .option(
      '--out <dir>',
      'directory of the merged adapter brick (a new directory, or an adapter brick to replace)',
    )
    .option(
      '--combination <type>',
      "cat (default): concatenate the adapters, exact, rank = the sum of theirs; svd: PEFT's truncated SVD of the same sum",
    )
    .option('--rank <r>', 'with --combination svd: the rank to keep (default: the largest parent rank)')
    .option('--role <role>', 'decomposer or solver, when no input is a brick that records it')
    .option('--json', 'print one JSON object on stdout')
    .action(runMerge);
}
