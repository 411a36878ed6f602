/**
 * `dnc train --data FILE --role decomposer|solver --preset NAME --out DIR [--resume] ...`: trains a
 * student on chat JSONL (see src/train/train-loop.ts). SIGINT/SIGTERM stop it after the current
 * step with a checkpoint (exit 130/143); `--resume` continues from the newest checkpoint.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { defaults } from '../../config/defaults.js';
import { formatZodError } from '../../data/zod-format.js';
import { brickRoleSchema } from '../../bricks/brick-manifest.js';
import { promptStyleSchema } from '../../prompts/index.js';
import { trainStudent, type TrainSummary } from '../../train/train-loop.js';
import { longExamplePolicySchema } from '../../train/training-settings.js';
import { loraDefaults, type LoraSettings, loraSettingsSchema, parseLoraTargets } from '../../student/lora.js';
import { addRemoteTrainOptions, isRemoteTraining, runRemoteTrainCommand } from './train-remote.js';
import { log, printJson, printText } from '../output.js';
import { trainingProgressReporter } from '../training-progress.js';
import { UserError } from '../../errors/user-error.js';
import { writeRoutingOverTraining } from '../../eval/expert-training-plot.js';

const count = (flag: string, minimum = 1) =>
  z.coerce
    .number({ error: `${flag} takes an integer` })
    .int(`${flag} takes an integer`)
    .min(minimum, `${flag} must be at least ${minimum}`)
    .optional();

const trainFlagsSchema = z.strictObject({
  backend: z.literal('dnc', { error: '--backend is dnc (local) or openai' }).optional(),
  data: z
    .string({ error: 'give the training file: --data FILE (chat JSONL, e.g. from `dnc collect`)' })
    .min(1),
  role: brickRoleSchema.optional(),
  preset: z.string().min(1).optional(),
  out: z.string({ error: 'give the run directory: --out DIR' }).min(1),
  resume: z.boolean().optional(),
  epochs: count('--epochs'),
  maxSteps: count('--max-steps'),
  seed: count('--seed', 0),
  vocabSize: count('--vocab-size', 263),
  learningRate: z.coerce.number().positive('--learning-rate must be positive').optional(),
  batchSize: count('--batch-size'),
  microBatchSize: count('--micro-batch-size'),
  dataParallel: count('--data-parallel'),
  sequenceLength: count('--sequence-length', 2),
  evalEvery: count('--eval-every'),
  checkpointEvery: count('--checkpoint-every'),
  warmupSteps: count('--warmup-steps', 0),
  nameCopies: count('--name-copies', 0),
  patience: count('--patience'),
  minDelta: z.coerce.number().nonnegative('--min-delta must be zero or more').optional(),
  allowSmallData: z.boolean().optional(),
  deterministic: z.boolean().optional(),
  longExamples: longExamplePolicySchema.optional(),
  promptFormat: promptStyleSchema.optional(),
  teacher: z.string().min(1).optional(),
  export: z.string().min(1).optional(),
  threads: count('--threads'),
  progress: z.boolean().optional(),
  json: z.boolean().optional(),
  base: z.string().min(1).optional(),
  chatTemplate: z.string().min(1).optional(),
  loraRank: count('--lora-rank'),
  loraAlpha: z.coerce.number().positive('--lora-alpha must be positive').optional(),
  loraDropout: z.coerce
    .number({ error: '--lora-dropout takes a number' })
    .min(0, '--lora-dropout is a probability from 0 up to below 1 (PEFT uses 0.05 or 0.1)')
    .lt(1, '--lora-dropout is a probability from 0 up to below 1 (PEFT uses 0.05 or 0.1)')
    .optional(),
  loraTargets: z.string().optional(),
  growExperts: count('--grow-experts'),
  from: z.string().min(1).optional(),
});

type TrainFlags = z.infer<typeof trainFlagsSchema>;

/** `--lora-rank R [--lora-alpha A] [--lora-dropout P] [--lora-targets LIST]`; PEFT's defaults otherwise. */
function loraOf(flags: TrainFlags): LoraSettings | undefined {
  const { loraRank, loraAlpha, loraDropout, loraTargets } = flags;
  if (loraRank === undefined) {
    if (loraAlpha !== undefined || loraDropout !== undefined || loraTargets !== undefined)
      throw new UserError(
        '--lora-alpha, --lora-dropout and --lora-targets need --lora-rank R (LoRA is off without it)',
      );
    return undefined;
  }
  const parsed = loraSettingsSchema.safeParse({
    rank: loraRank,
    alpha: loraAlpha ?? loraDefaults.alpha,
    dropout: loraDropout ?? loraDefaults.dropout,
    targets: loraTargets === undefined ? [...loraDefaults.targets] : parseLoraTargets(loraTargets),
  });
  if (!parsed.success) throw new UserError(`dnc train: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

/** MoE runs: routing-over-training.svg from the log's routing (a failed plot does not fail the run). */
async function drawRouting(runDirectory: string): Promise<void> {
  try {
    const file = await writeRoutingOverTraining(runDirectory);
    if (file !== undefined) log(`routing over training: ${file}`);
  } catch (error) {
    log(`dnc train: could not draw routing over training (${(error as Error).message})`);
  }
}

function describe(summary: TrainSummary): string {
  const loss = (value: number | null) => (value === null ? '-' : value.toFixed(4));
  return [
    `trained ${summary.steps} steps (${summary.stopReason}) on ${summary.tokens.toLocaleString('en-US')} tokens in ${summary.seconds.toFixed(1)} s ` +
      `(${summary.tokensPerSecond.toLocaleString('en-US')} tokens/s, ${(summary.paddingFraction * 100).toFixed(1)}% padding)`,
    `loss ${loss(summary.initialLoss)} → ${loss(summary.finalTrainLoss)}, validation ${loss(summary.finalValLoss)} ` +
      `(best ${loss(summary.bestValLoss)}${summary.bestStep === null ? '' : ` at step ${summary.bestStep}, the weights exported`}); ` +
      `${summary.skippedLongExamples} long examples skipped, ${summary.truncatedLongExamples} truncated`,
    `checkpoint: ${summary.checkpoint}${summary.export === null ? '' : `\nbrick: ${summary.export}`}`,
  ].join('\n');
}

/** Turns SIGINT/SIGTERM into an abort (the loop checkpoints and returns); returns the exit code to use. */
function trapStopSignals(controller: AbortController): { code: () => number; release: () => void } {
  let code = 0;
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => {
      code = signal === 'SIGINT' ? 130 : 143;
      log(`dnc train: ${signal} received; saving a checkpoint after the current step`);
      controller.abort();
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    code: () => code,
    release: () => handlers.forEach(([signal, handler]) => process.off(signal, handler)),
  };
}

async function runTrain(rawFlags: Record<string, unknown>): Promise<void> {
  if (isRemoteTraining(rawFlags)) return runRemoteTrainCommand(rawFlags);
  const parsed = trainFlagsSchema.safeParse(rawFlags);
  if (!parsed.success) throw new UserError(`dnc train: ${formatZodError(parsed.error)}`);
  const flags: TrainFlags = parsed.data;
  if (flags.role === undefined) throw new UserError('give the role to train: --role decomposer|solver');
  if (flags.deterministic === true && flags.threads !== undefined && flags.threads > 1)
    throw new UserError(
      `--deterministic runs onnxruntime on one thread; drop --threads ${flags.threads} or --deterministic`,
    );
  if ((flags.dataParallel ?? 1) > 1 && flags.threads !== undefined)
    throw new UserError(
      `--data-parallel runs each worker on one onnxruntime thread; drop --threads ${flags.threads} or --data-parallel`,
    );
  const controller = new AbortController();
  const signals = trapStopSignals(controller);
  let summary: TrainSummary;
  try {
    summary = await trainStudent({
      dataFile: flags.data,
      role: flags.role,
      preset: flags.preset,
      outDirectory: flags.out,
      resume: flags.resume === true,
      overrides: {
        epochs: flags.epochs,
        maxSteps: flags.maxSteps,
        seed: flags.seed,
        vocabSize: flags.vocabSize,
        learningRate: flags.learningRate,
        batchSize: flags.batchSize,
        microBatchSize: flags.microBatchSize,
        dataParallel: flags.dataParallel,
        sequenceLength: flags.sequenceLength,
        evalEvery: flags.evalEvery,
        checkpointEvery: flags.checkpointEvery,
        warmupSteps: flags.warmupSteps,
        nameCopies: flags.nameCopies,
        patience: flags.patience,
        minDelta: flags.minDelta,
        allowSmallData: flags.allowSmallData,
        deterministic: flags.deterministic,
        longExamples: flags.longExamples,
        promptFormat: flags.promptFormat,
      },
      teacher: flags.teacher,
      exportDirectory: flags.export,
      signal: controller.signal,
      progress: trainingProgressReporter({
        drawing: flags.progress ?? process.stderr.isTTY === true,
        log,
      }),
      threads: flags.threads,
      log,
      base: flags.base,
      chatTemplateFile: flags.chatTemplate,
      lora: loraOf(flags),
      growExperts: flags.growExperts,
      from: flags.from,
    });
  } finally {
    signals.release();
  }
  await drawRouting(summary.out);
  if (flags.json === true) printJson(summary);
  else printText(describe(summary));
  if (summary.stopReason === 'interrupted') {
    log(`dnc train: stopped at step ${summary.steps}; continue with the same command and --resume`);
    process.exitCode = signals.code() || 130;
  }
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a student (decomposer or solver) on chat JSONL, with checkpoints and --resume')
    .option('--data <file>', 'training set: chat JSONL ({"messages": [...]} per line)')
    .option('--role <role>', 'decomposer or solver')
    .option('--preset <name>', 'student preset: nano, micro, tiny, small, or a preset JSON file')
    .option(
      '--out <dir>',
      'run directory: checkpoints, tokenizer, train-log.jsonl (export it with `dnc export DIR`)',
    )
    .option('--resume', 'continue from the newest checkpoint in --out')
    .option('--epochs <n>', 'passes over the data (default: the preset)')
    .option('--max-steps <n>', 'optimizer steps at most (default: the preset)')
    .option('--seed <n>', 'seed of the initialization, the split and the data order')
    .option('--vocab-size <n>', 'BPE vocabulary size (default: the preset)')
    .option('--learning-rate <x>', 'peak learning rate (default: the preset)')
    .option('--batch-size <n>', 'rows per step (default: the preset)')
    .option(
      '--micro-batch-size <n>',
      'rows per forward/backward pass: a step runs batch-size / n passes with summed gradients, the same update in less memory (default: the whole batch)',
    )
    .option(
      '--data-parallel <n>',
      'worker threads that each train an equal share of every batch on one core, gradients summed in a fixed order: bit for bit repeatable (default 1: one session on --threads threads)',
    )
    .option('--sequence-length <n>', 'tokens per row (default: the preset)')
    .option('--eval-every <n>', 'steps between validations (default: the preset)')
    .option('--checkpoint-every <n>', 'steps between checkpoints (default: the preset)')
    .option('--warmup-steps <n>', 'learning-rate warmup steps (default: the preset)')
    .option(
      '--name-copies <n>',
      'add n copies of each training example with its names made up anew (default 0)',
    )
    .option(
      '--patience <n>',
      `stop after n validations without improvement; the best validation step is exported (default ${defaults.train.patience})`,
    )
    .option(
      '--min-delta <x>',
      `the least validation-loss drop that counts as an improvement (default ${defaults.train.minDelta})`,
    )
    .option(
      '--allow-small-data',
      `train on fewer than ${defaults.train.minimumExamples} examples or without a validation set`,
    )
    .option('--long-examples <policy>', 'examples longer than the context: skip (default) or truncate')
    .option(
      '--prompt-format <style>',
      'compact (no system message: best for small students) or instruct (default: as the data is written)',
    )
    .option('--teacher <name>', 'the teacher the data came from, recorded in the lineage')
    .option('--export <dir>', 'export the trained student as a brick directory when done')
    .option('--threads <n>', 'onnxruntime threads (default: all cores)')
    .option(
      '--deterministic',
      'the same loss curve bit for bit on this machine (onnxruntime on one thread; slower: --data-parallel 2 gives the same guarantee at full speed, see docs/performance.md)',
    )
    .option('--progress', 'draw progress lines even when stderr is not a terminal')
    .option('--json', 'print one JSON summary object on stdout')
    .option(
      '--base <dir>',
      'fine-tune a Hugging Face model directory (llama/mistral/qwen2/qwen3) instead of a --preset; with --backend openai: the remote model',
    )
    .option('--chat-template <file>', "with --base: a Jinja chat template replacing the base's")
    .option(
      '--lora-rank <r>',
      'with --base: train a LoRA adapter of rank r on the frozen base (default: full fine-tuning)',
    )
    .option(
      '--lora-alpha <a>',
      `LoRA scale numerator: the path is scaled by alpha / r (default ${loraDefaults.alpha}, as PEFT)`,
    )
    .option(
      '--lora-dropout <p>',
      `dropout on the LoRA path's input while training, as PEFT's lora_dropout (default ${loraDefaults.dropout})`,
    )
    .option(
      '--lora-targets <list>',
      `modules LoRA adapts, comma-separated (default ${loraDefaults.targets.join(',')})`,
    )
    .option(
      '--grow-experts <n>',
      'grow the MoE student of --from by n experts per mixture layer; only the new experts and router rows train',
    )
    .option(
      '--from <checkpoint>',
      'with --grow-experts: the MoE student checkpoint (or run directory) to grow',
    )
    .action(runTrain);
  addRemoteTrainOptions(program.commands.find((command) => command.name() === 'train')!);
}
