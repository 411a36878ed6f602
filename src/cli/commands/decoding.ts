/**
 * `dnc decoding check --brick BRICK_DIR --data CHAT_JSONL [--recipe ID] [--limit N] [--json]`:
 * teacher-forces every teacher decomposition of a chat dataset through the brick's decoding
 * recipe (src/decoding/check-recipe.ts) and reports, per processor, the share of teacher tokens
 * it would forbid or demote, and where it first forbids one. Exits 1 when the recipe rejects a
 * teacher decomposition: a pipeline turns a recipe on only when it rejects none.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { chatExampleSchema } from '../../data/schemas.js';
import { readJsonlAll } from '../../data/jsonl.js';
import { formatZodError } from '../../data/zod-format.js';
import { checkRecipe, type RecipeCheckReport } from '../../decoding/check-recipe.js';
import { brickRecipe, recipeSettings } from '../../decoding/registry.js';
import { readBrickManifest } from '../../bricks/brick-manifest.js';
import { UserError } from '../../errors/user-error.js';
import { Tokenizer } from '../../tokenizer/tokenizer.js';
import { printJson, printText } from '../output.js';

const checkOptionsSchema = z.strictObject({
  brick: z.string({ error: 'give the brick directory: --brick BRICK_DIR' }).min(1),
  data: z.string({ error: 'give the chat JSONL of teacher decompositions: --data FILE' }).min(1),
  recipe: z.string().min(1).optional(),
  limit: z.coerce.number().int().positive('--limit takes a positive integer').optional(),
  json: z.boolean().optional(),
});

function percent(share: number): string {
  return `${(100 * share).toFixed(2)}%`;
}

function printReport(report: RecipeCheckReport): void {
  const lines = [
    `${report.recipe}: ${report.rejected} of ${report.decompositions} teacher decompositions rejected, ` +
      `${report.faulty} called faulty by the reranker`,
    ...Object.entries(report.processors).map(
      ([name, tally]) =>
        `  ${name}: forbids ${tally.forbidden} of ${tally.tokens} teacher tokens (${percent(tally.forbiddenShare)}), ` +
        `demotes ${tally.demoted} (${percent(tally.demotedShare)})`,
    ),
    ...report.rejections.map(
      (rejection) =>
        `  record ${rejection.record + 1}: ${rejection.processor} forbids ${JSON.stringify(rejection.token)} ` +
        `after ${JSON.stringify(rejection.context)}`,
    ),
  ];
  printText(lines.join('\n'));
}

async function runCheck(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = checkOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UserError(`dnc decoding check: ${formatZodError(parsed.error)}`);
  const options = parsed.data;
  let prepared;
  let tokenizer: Tokenizer;
  try {
    const manifest = await readBrickManifest(options.brick);
    tokenizer = await Tokenizer.load(options.brick);
    // `--recipe ID` checks a recipe the brick does not run yet (its defaults and the brick's own settings).
    const decoding =
      options.recipe === undefined
        ? manifest.decoding
        : recipeSettings(options.recipe, withoutRecipe(manifest.decoding));
    const recipe = brickRecipe(decoding);
    if (recipe === undefined)
      throw new Error(
        'its brick.json names no decoding recipe; check one before turning it on with --recipe copy-names',
      );
    prepared = recipe.prepare(decoding!, tokenizer);
  } catch (error) {
    throw new UserError(`--brick ${options.brick}: ${(error as Error).message}`, { cause: error });
  }
  const examples = await readJsonlAll(options.data, chatExampleSchema);
  const report = checkRecipe(prepared, tokenizer, examples.slice(0, options.limit));
  if (options.json === true) printJson(report);
  else printReport(report);
  if (report.rejected > 0) process.exitCode = 1;
}

/** A brick's decoding settings without the recipe they name (to check another recipe with them). */
function withoutRecipe(decoding: Record<string, unknown> | undefined): Record<string, unknown> {
  const { recipe: _recipe, ...settings } = decoding ?? {};
  return settings;
}

export function register(program: Command): void {
  const decoding = program
    .command('decoding')
    .description('decoding recipes (src/decoding, docs/decoding.md)');
  decoding
    .command('check')
    .description(
      "teacher-force a chat dataset through a brick's decoding recipe: the share of teacher tokens each processor forbids or demotes",
    )
    .option('--brick <dir>', 'brick directory (from `dnc export`)')
    .option(
      '--data <file>',
      "chat JSONL of teacher decompositions (e.g. a run's filter/train-decomposer.jsonl)",
    )
    .option('--recipe <id>', "check this recipe instead of the brick's own (e.g. copy-names)")
    .option('--limit <n>', 'check the first N decompositions only')
    .option('--json', 'print one JSON object on stdout')
    .action(runCheck);
}
