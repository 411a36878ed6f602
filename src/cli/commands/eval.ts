/**
 * `dnc eval --suite FILE --out DIR [--json] [--limit N] [--concurrency N] [--cache FILE] [--rerun] [--batch]`:
 * runs (or resumes) an eval suite, writes report.json, report.md, report.html and the plots
 * into DIR, and prints the paper table (`--json`: exactly the report.json object).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { defaults } from '../../config/defaults.js';
import { formatZodError } from '../../data/zod-format.js';
import { formatDollars, renderPaperTable } from '../../eval/report-markdown.js';
import { batchBrickLoaders, batchEvalConcurrency } from '../../eval/batch-bricks.js';
import { runEval, type EvalResult } from '../../eval/runner.js';
import { loadSuite } from '../../eval/suite.js';
import { log, printJson, printText } from '../output.js';
import { createProgress, type Progress } from '../progress.js';
import { UserError } from '../../errors/user-error.js';

const positive = (flag: string) =>
  z.coerce.number().int(`${flag} takes a positive integer`).positive(`${flag} takes a positive integer`);

const evalOptionsSchema = z.strictObject({
  suite: z.string().min(1, 'give the suite file, e.g. --suite eval/worlds-reference.json'),
  out: z.string().min(1, 'give the output directory, e.g. --out runs/eval'),
  json: z.boolean().optional(),
  limit: positive('--limit').optional(),
  concurrency: positive('--concurrency').optional(),
  cache: z.string().min(1).optional(),
  rerun: z.boolean().optional(),
  batch: z.boolean().optional(),
});

function renderSummary(result: EvalResult): string {
  const { summary, files } = result;
  return [
    renderPaperTable(result.report),
    '',
    `${summary.examples} examples (${summary.computed} computed, ${summary.resumed} from earlier runs); ` +
      `spent $${formatDollars(summary.spentUsd)}, saved $${formatDollars(summary.savedUsd)} by the cache ` +
      `(${summary.cacheHits} hits, ${summary.cacheMisses} calls made)`,
    `report: ${files.markdown}`,
    `        ${files.html}`,
    `        ${files.json}`,
    `traces: ${summary.tracesFile}`,
  ].join('\n');
}

async function evaluate(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = evalOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UserError(`dnc eval: ${formatZodError(parsed.error)}`);
  const options = parsed.data;
  const suite = await loadSuite(options.suite);
  let progress: Progress | undefined;
  let shown = 0;
  const result = await runEval({
    suite,
    suiteFile: options.suite,
    out: options.out,
    limit: options.limit,
    concurrency: options.concurrency ?? (options.batch === true ? batchEvalConcurrency : undefined),
    cacheFile: options.cache,
    rerun: options.rerun,
    ...(options.batch === true
      ? {
          loaders: batchBrickLoaders({
            journalFile: join(options.out, 'batches.jsonl'),
            onStatus: (batch) => log(`batch ${batch.id}: ${batch.status} ${batch.completed}/${batch.total}`),
          }),
        }
      : {}),
    onProgress: (state) => {
      progress ??= createProgress({ label: 'eval', total: state.total });
      progress.tick(state.done - shown, {
        spent: `$${formatDollars(state.spentUsd)}`,
        saved: `$${formatDollars(state.savedUsd)}`,
      });
      shown = state.done;
    },
  });
  progress?.done();
  if (options.json === true) printJson(result.report);
  else printText(renderSummary(result));
  if (result.summary.computed === 0 && result.summary.resumed > 0)
    log(`note: every example was already in ${result.summary.tracesFile}; use --rerun to recompute them`);
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('run an eval suite (chains × datasets) and write report.json, report.md and report.html')
    .requiredOption('--suite <file>', 'eval suite JSON, e.g. eval/worlds-reference.json')
    .requiredOption(
      '--out <dir>',
      'eval directory: traces.jsonl, cache.jsonl and the reports (resumes a killed run)',
    )
    .option('--json', 'print exactly the report.json object on stdout')
    .option('--limit <n>', 'at most N examples per dataset (overrides the suite)')
    .option(
      '--concurrency <n>',
      `examples in flight (default: the suite's, else ${defaults.eval.concurrency})`,
    )
    .option('--cache <file>', 'brick-call cache journal to use (default DIR/cache.jsonl)')
    .option('--rerun', 'recompute every example (earlier traces discarded; cached brick calls still reused)')
    .option(
      '--batch',
      'remote bricks answer through the Batch API (half price, up to 24 h; every example in flight)',
    )
    .action(evaluate);
}
