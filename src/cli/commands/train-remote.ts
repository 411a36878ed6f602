/**
 * The `--backend openai` side of `dnc train` (src/cli/commands/train.ts dispatches here):
 *
 *   dnc train --backend openai --base gpt-4o-mini-2024-07-18 --data FILE --out DIR
 *             [--validation FILE] [--epochs N] [--suffix S] [--seed N] [--max-usd X] [--yes]
 *   dnc train --cancel --out DIR
 *
 * `OPENAI_BASE_URL` / `OPENAI_API_KEY` name the service, as for teachers and bricks.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { defaults } from '../../config/defaults.js';
import { formatZodError } from '../../data/zod-format.js';
import { brickRoleSchema } from '../../bricks/brick-manifest.js';
import { log, printJson, printText } from '../output.js';
import { UserError } from '../../errors/user-error.js';
import { TeacherError } from '../../teacher/errors.js';
import { cancelRemoteTraining } from '../../train/remote/cancel-remote-training.js';
import { FineTuningClient } from '../../train/remote/fine-tuning-client.js';
import { runRemoteTraining, type RemoteTrainingSummary } from '../../train/remote/run-remote-training.js';

const integer = (flag: string, minimum: number) =>
  z.coerce
    .number({ error: `${flag} takes an integer` })
    .int(`${flag} takes an integer`)
    .min(minimum, `${flag} must be at least ${minimum}`)
    .optional();

const remoteFlagsSchema = z.strictObject({
  backend: z.literal('openai', { error: '--backend is dnc (local, the default) or openai' }).optional(),
  cancel: z.boolean().optional(),
  base: z.string().min(1).optional(),
  data: z.string().min(1).optional(),
  validation: z.string().min(1).optional(),
  out: z.string({ error: 'give the run directory: --out DIR' }).min(1),
  role: brickRoleSchema.optional(),
  epochs: integer('--epochs', 1),
  suffix: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, '--suffix takes up to 40 letters, digits, - and _')
    .optional(),
  seed: integer('--seed', 0),
  teacher: z.string().min(1).optional(),
  maxUsd: z.coerce.number().nonnegative('--max-usd must be zero or more').optional(),
  yes: z.boolean().optional(),
  pollInterval: integer('--poll-interval', 1),
  json: z.boolean().optional(),
});

/** True when `dnc train` was asked for remote work (another backend, or a cancel). */
export function isRemoteTraining(rawFlags: Record<string, unknown>): boolean {
  return (rawFlags.backend !== undefined && rawFlags.backend !== 'dnc') || rawFlags.cancel === true;
}

function describe(summary: RemoteTrainingSummary): string {
  const loss = (value: number | null) => (value === null ? '-' : value.toFixed(4));
  return [
    `fine-tuned ${summary.model} (job ${summary.jobId}${summary.createdJob ? '' : ', re-attached'})`,
    `trained tokens ${summary.trainedTokens?.toLocaleString('en-US') ?? 'not reported'}, cost $${summary.costUsd.toFixed(2)} ` +
      `(estimated $${summary.estimate.usd.toFixed(2)}); train loss ${loss(summary.trainLoss)}, validation ${loss(summary.validationLoss)}`,
    `brick: ${summary.brick} (use it as --decomposer/--solver, or in eval and serve chains)`,
  ].join('\n');
}

/** A service that keeps failing is the user's to look at: one line, and how to go on. */
async function explainServiceErrors<T>(baseURL: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof TeacherError)) throw error;
    throw new UserError(
      `dnc train: the fine-tuning service at ${baseURL}: ${error.message}; ` +
        'check OPENAI_BASE_URL / OPENAI_API_KEY, then rerun the same command (it re-attaches to what was done)',
      { cause: error },
    );
  }
}

export async function runRemoteTrainCommand(rawFlags: Record<string, unknown>): Promise<void> {
  const parsed = remoteFlagsSchema.safeParse(rawFlags);
  if (!parsed.success) throw new UserError(`dnc train --backend openai: ${formatZodError(parsed.error)}`);
  const client = new FineTuningClient({
    onRetry: ({ error, delayMs }) =>
      log(`dnc train: ${(error as Error).message}; retrying in ${(delayMs / 1000).toFixed(1)} s`),
  });
  await explainServiceErrors(client.baseURL, () => runParsed(parsed.data, client));
}

async function runParsed(flags: z.infer<typeof remoteFlagsSchema>, client: FineTuningClient): Promise<void> {
  if (flags.cancel === true) {
    const result = await cancelRemoteTraining({ client, outDirectory: flags.out, log });
    if (flags.json === true) printJson(result);
    else printText(result.message);
    return;
  }
  if (flags.backend === undefined) throw new UserError('give the backend: --backend openai');
  if (flags.base === undefined)
    throw new UserError('give the model to fine-tune: --base MODEL (e.g. gpt-4o-mini-2024-07-18)');
  if (flags.data === undefined)
    throw new UserError('give the training file: --data FILE (chat JSONL, e.g. from `dnc collect`)');
  const summary = await runRemoteTraining({
    client,
    base: flags.base,
    role: flags.role ?? 'decomposer',
    dataFile: flags.data,
    validationFile: flags.validation,
    outDirectory: flags.out,
    epochs: flags.epochs,
    suffix: flags.suffix,
    seed: flags.seed,
    teacher: flags.teacher,
    maxUsd: flags.maxUsd ?? defaults.fineTuning.maxUsd,
    yes: flags.yes === true,
    pollIntervalMs: flags.pollInterval ?? defaults.fineTuning.pollIntervalMs,
    log,
  });
  if (flags.json === true) printJson(summary);
  else printText(describe(summary));
}

/** Adds the remote backend's flags to `dnc train` (a flag another part already added is kept as is). */
export function addRemoteTrainOptions(command: Command): void {
  const options: [string, string][] = [
    ['--backend <name>', 'dnc (local, default) or openai (a managed fine-tuning service: OPENAI_BASE_URL)'],
    ['--base <model>', 'with --backend openai: the remote model to fine-tune (e.g. gpt-4o-mini-2024-07-18)'],
    ['--validation <file>', 'with --backend openai: a validation chat JSONL file'],
    ['--suffix <text>', 'with --backend openai: a suffix for the fine-tuned model name'],
    ['--max-usd <x>', 'with --backend openai: dollars the estimate may reach without --yes (default 0)'],
    ['--yes', 'with --backend openai: accept an estimate above the budget'],
    ['--cancel', 'cancel the remote fine-tuning job of --out DIR'],
    ['--poll-interval <ms>', 'with --backend openai: milliseconds between job polls (default 10000)'],
  ];
  for (const [flags, description] of options) {
    const long = flags.split(' ')[0];
    if (!command.options.some((option) => option.long === long)) command.option(flags, description);
  }
}
