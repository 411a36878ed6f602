import type { Command } from 'commander';
import { z } from 'zod';
import { writeJsonlAtomic } from '../../data/jsonl.js';
import { exampleSchema } from '../../data/schemas.js';
import { formatZodError } from '../../data/zod-format.js';
import { generateExamples, splitNames, worldNames } from '../../worlds/index.js';
import { log, printJson } from '../output.js';
import { UserError } from '../../errors/user-error.js';

const optionsSchema = z.object({
  world: z.enum(worldNames as ['hops', 'math'], {
    message: `--world must be one of ${worldNames.join(', ')}`,
  }),
  split: z.enum(splitNames as ['train', 'test', 'ood'], {
    message: `--split must be one of ${splitNames.join(', ')}`,
  }),
  n: z.coerce
    .number({ message: '--n must be a number' })
    .int('--n must be a whole number')
    .positive('--n must be at least 1')
    .max(10_000_000, '--n must be at most 10,000,000'),
  seed: z.coerce
    .number({ message: '--seed must be a number' })
    .int('--seed must be a whole number')
    .min(-2_147_483_648, '--seed must fit in 32 bits')
    .max(2_147_483_647, '--seed must fit in 32 bits'),
  out: z.string().min(1, '--out needs a file path'),
  json: z.boolean().optional(),
});

/** `dnc data generate --world hops|math --n N --seed S --split train|test|ood --out FILE [--json]`. */
export function registerDataGenerate(data: Command): void {
  data
    .command('generate')
    .description('generate a synthetic world dataset (deterministic for a seed)')
    .requiredOption('--world <world>', worldNames.join('|'))
    .requiredOption('--n <count>', 'number of examples')
    .option('--seed <seed>', 'seed: the same seed gives a byte-identical file', '0')
    .option('--split <split>', splitNames.join('|'), 'train')
    .requiredOption('--out <file>', 'output JSON Lines file of Examples')
    .option('--json', 'print one JSON object on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) throw new UserError(`data generate: ${formatZodError(parsed.error)}`);
      const { world, split, n, seed, out, json } = parsed.data;
      const started = Date.now();
      const examples = generateExamples({ world, n, seed, split });
      await writeJsonlAtomic(out, examples, exampleSchema);
      const summary = { world, split, seed, n, out };
      if (json === true) printJson(summary);
      else
        log(`wrote ${n} ${world} ${split} examples (seed ${seed}) to ${out} in ${Date.now() - started} ms`);
    });
}
