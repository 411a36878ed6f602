/**
 * `dnc generate --brick BRICK_DIR [--decoding none|brick] [--max-tokens N] [--json] "prompt"`:
 * the brick's greedy completion of one user message, rendered through its chat template. With
 * `--decoding none` (the default) it is plain greedy decoding, as transformers.js would run the
 * model; `--decoding brick` adds the decoding recipe the brick's brick.json names (src/decoding).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { defaults } from '../../config/defaults.js';
import { formatZodError } from '../../data/zod-format.js';
import { OnnxBrick } from '../../runtime/bricks/onnx-brick.js';
import { mergedAdapterBrick, readAdapterBrickManifest } from '../../runtime/bricks/adapter-brick.js';
import { log, printJson, printText } from '../output.js';
import { UserError } from '../../errors/user-error.js';

const generateOptionsSchema = z.strictObject({
  brick: z.string({ error: 'give the brick directory: --brick BRICK_DIR' }).min(1),
  maxTokens: z.coerce
    .number()
    .int()
    .positive('--max-tokens takes a positive integer')
    .default(defaults.runtime.maxNewTokens),
  decoding: z.enum(['none', 'brick'], { error: '--decoding takes none or brick' }).default('none'),
  json: z.boolean().optional(),
});

async function runGenerate(prompt: string, rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = generateOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UserError(`dnc generate: ${formatZodError(parsed.error)}`);
  const options = parsed.data;
  let brick: OnnxBrick;
  try {
    // A base + LoRA adapter brick is merged into an onnx brick first (src/runtime/bricks/adapter-brick.ts).
    const adapter = await readAdapterBrickManifest(options.brick);
    const directory =
      adapter === undefined ? options.brick : await mergedAdapterBrick(options.brick, adapter);
    brick = await OnnxBrick.load(directory, options.brick, { recipe: options.decoding });
  } catch (error) {
    throw new UserError(`--brick ${options.brick}: ${(error as Error).message}`, { cause: error });
  }
  // Which decoding ran: `none`, or the brick's recipe (`copy-names@7`), or `none` when it names none.
  const decoding = brick.recipe?.key ?? 'none';
  try {
    const completion = await brick.complete([{ role: 'user', content: prompt }], {
      maxNewTokens: options.maxTokens,
    });
    if (options.json === true)
      printJson({
        text: completion.text,
        tokens: completion.tokens,
        decoding,
        finishReason: completion.report.finishReason,
        usage: completion.report.usage,
        latencyMs: completion.report.latencyMs,
      });
    else {
      log(`decoding: ${decoding}`);
      printText(completion.text);
    }
  } finally {
    await brick.close();
  }
}

export function register(program: Command): void {
  program
    .command('generate')
    .description("greedy completion of a prompt through a brick's chat template")
    .argument('<prompt>', 'the user message')
    .option('--brick <dir>', 'brick directory (from `dnc export`)')
    .option(
      '--decoding <mode>',
      "none (default): plain greedy decoding; brick: with the decoding recipe the brick's brick.json names",
    )
    .option('--max-tokens <n>', 'most new tokens')
    .option('--json', 'print one JSON object (text, tokens) on stdout')
    .action(runGenerate);
}
