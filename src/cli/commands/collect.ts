/**
 * `dnc collect --data FILE --teacher T --out DIR`: teacher decompositions and solutions into
 * crash-safe journals, then the training sets of the chosen filter.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { runCollection } from '../../collect/run-collection.js';
import type { CollectSummary } from '../../collect/run-collection.js';
import { describeRoleCounts } from '../../collect/training-sets.js';
import { defaults } from '../../config/defaults.js';
import { readJsonlAll } from '../../data/jsonl.js';
import { exampleSchema } from '../../data/schemas.js';
import { createTeacher, teacherSpecHelp } from '../../collect/create-teacher.js';
import { log, printJson, printText } from '../output.js';
import { createProgress } from '../progress.js';
import { UserError } from '../../errors/user-error.js';

interface CollectFlags {
  data: string;
  teacher: string;
  out: string;
  concurrency: number;
  maxSubquestions: number;
  filter: 'all' | 'correct';
  secondSample?: boolean;
  maxAttempts: number;
  batch?: boolean;
  json?: boolean;
  timeoutMs: number;
  maxRetries: number;
  rpm?: number;
  tpm?: number;
  structuredOutput: 'auto' | 'always' | 'never';
  pollIntervalMs: number;
  progress?: boolean;
}

function positiveInteger(flag: string, minimum = 1): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < minimum) {
      throw new InvalidArgumentError(`${flag} must be an integer ≥ ${minimum}, got '${value}'`);
    }
    return parsed;
  };
}

function formatSummary(summary: CollectSummary): string {
  const dollars = `$${summary.costUsd.toFixed(4)}${summary.simulated ? ' (simulated)' : ''}`;
  return [
    `collected ${summary.total} examples with ${summary.teacher}: ${summary.ok} ok, ${summary.invalid} invalid, ${summary.error} error`,
    `requests ${summary.requests}, cached ${summary.skippedCached}, spent ${dollars}, saved $${summary.savedUsd.toFixed(4)}`,
    `solutions: ${summary.solutions.ok} ok (${summary.solutions.correct} correct), ${summary.solutions.invalid} invalid, ${summary.solutions.error} error`,
    `kept (${summary.filter}): ${summary.kept.decomposer} decomposer → ${summary.files.decomposer}, ${summary.kept.solver} solver → ${summary.files.solver}`,
    ...(['decomposer', 'solver'] as const).map(
      (role) =>
        `${role}: ${describeRoleCounts({ kept: summary.kept[role], dropped: summary.dropped[role] }, summary.total)}`,
    ),
  ].join('\n');
}

async function collect(flags: CollectFlags): Promise<void> {
  const examples = await readJsonlAll(flags.data, exampleSchema);
  const seen = new Set<string>();
  for (const example of examples) {
    if (seen.has(example.id))
      throw new UserError(`${flags.data}: example id '${example.id}' appears twice; ids must be unique`);
    seen.add(example.id);
  }
  const teacher = await createTeacher(flags.teacher, {
    openai: {
      concurrency: flags.concurrency,
      timeoutMs: flags.timeoutMs,
      retry: { maxRetries: flags.maxRetries },
      requestsPerMinute: flags.rpm,
      tokensPerMinute: flags.tpm,
      structuredOutput: flags.structuredOutput,
      maxOutputTokens: defaults.collect.maxOutputTokens,
      temperature: defaults.collect.temperature,
      sampleTemperature: defaults.collect.sampleTemperature,
      onRetry: ({ error, delayMs }) =>
        log(`retrying in ${Math.round(delayMs)} ms: ${(error as Error).message}`),
    },
  });
  const progress = createProgress({ label: 'collect', total: examples.length, enabled: flags.progress });
  let lastDone = 0;
  const summary = await runCollection({
    examples,
    teacher,
    outDir: flags.out,
    concurrency: flags.concurrency,
    settings: {
      maxSubquestions: flags.maxSubquestions,
      maxAttempts: flags.maxAttempts,
      filter: flags.filter,
      secondSample: flags.secondSample === true,
    },
    ...(flags.batch === true
      ? {
          batch: {
            outDir: flags.out,
            pollIntervalMs: flags.pollIntervalMs,
            priceFactor: defaults.collect.batchPriceFactor,
            onStatus: (batch) => log(`batch ${batch.id}: ${batch.status} ${batch.completed}/${batch.total}`),
          },
        }
      : {}),
    onProgress: ({ done, costUsd }) => {
      progress.tick(done - lastDone, { $: costUsd.toFixed(4) });
      lastDone = done;
    },
  });
  progress.done();
  if (flags.json === true) printJson(summary);
  else printText(formatSummary(summary));
}

export function register(program: Command): void {
  program
    .command('collect')
    .description(
      'ask a teacher to decompose (and solve) every example; crash-safe journals and training sets',
    )
    .requiredOption('--data <file>', 'examples (JSON Lines)')
    .requiredOption('--teacher <spec>', teacherSpecHelp)
    .requiredOption(
      '--out <dir>',
      'output directory (journals and training sets; rerun with the same one to resume)',
    )
    .option(
      '--concurrency <n>',
      'requests in flight',
      positiveInteger('--concurrency'),
      defaults.collect.concurrency,
    )
    .option(
      '--max-subquestions <n>',
      'most sub-questions a decomposition may have',
      positiveInteger('--max-subquestions'),
      defaults.prompts.maxSubquestions,
    )
    .addOption(
      new Option(
        '--filter <mode>',
        'all: every valid decomposition (SD-T); correct: only chains that reached the gold answer (SD-R)',
      )
        .choices(['all', 'correct'])
        .default(defaults.collect.filter),
    )
    .option(
      '--second-sample',
      'with --filter correct: ask again (temperature > 0) when the first chain fails',
    )
    .option(
      '--max-attempts <n>',
      'answers per key before an invalid output is final',
      positiveInteger('--max-attempts'),
      defaults.collect.maxAttempts,
    )
    .option('--batch', 'use the OpenAI Batch API (openai:MODEL only; half price, hours of latency)')
    .option('--json', 'print the summary as one JSON object')
    .option(
      '--timeout-ms <n>',
      'per-request timeout',
      positiveInteger('--timeout-ms'),
      defaults.collect.requestTimeoutMs,
    )
    .option(
      '--max-retries <n>',
      'retries per request on 408/409/429/5xx/network errors',
      positiveInteger('--max-retries', 0),
      defaults.collect.maxRetries,
    )
    .option('--rpm <n>', 'requests-per-minute limit', positiveInteger('--rpm'))
    .option('--tpm <n>', 'tokens-per-minute limit', positiveInteger('--tpm'))
    .addOption(
      new Option('--structured-output <mode>', 'JSON-schema response format')
        .choices(['auto', 'always', 'never'])
        .default('auto'),
    )
    .option(
      '--poll-interval-ms <n>',
      'batch status poll interval',
      positiveInteger('--poll-interval-ms'),
      defaults.collect.batchPollIntervalMs,
    )
    .option('--progress', 'draw progress on stderr even when it is not a terminal')
    .action(async (flags: CollectFlags) => {
      if (flags.secondSample === true && flags.filter !== 'correct') {
        throw new UserError(
          '--second-sample only applies with --filter correct (it resamples chains that missed the gold answer)',
        );
      }
      await collect(flags);
    });
}
