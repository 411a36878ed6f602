/**
 * `dnc route calibrate --suite FILE --chain NAME (--target-accuracy X | --max-cost-per-example USD
 * | --escalate-share S) [--by SIGNAL] [--samples K] [--out ROUTE_FILE] [--eval-dir DIR] [--json]`:
 * runs a cascade chain of a calibration suite (never a test split), sweeps the threshold of a
 * route signal over the measured paths and writes the route file the chain loads with
 * `"route": { "file": ROUTE_FILE }`.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { formatZodError } from '../../data/zod-format.js';
import { formatDollars } from '../../eval/report-markdown.js';
import { calibrateRoute, type CalibrationResult } from '../../eval/route-calibration.js';
import { loadSuite } from '../../eval/suite.js';
import { writeRouteFile, type CalibrationCriterion } from '../../runtime/routing/route-file.js';
import { routeSignalSchema } from '../../data/route-schema.js';
import { printJson, printText } from '../output.js';
import { createProgress, type Progress } from '../progress.js';
import { UserError } from '../../errors/user-error.js';

const fractionFlag = (flag: string) =>
  z.coerce
    .number(`${flag} takes a number`)
    .min(0, `${flag} is a fraction in [0, 1]`)
    .max(1, `${flag} is a fraction in [0, 1]`);

const calibrateOptionsSchema = z.strictObject({
  suite: z.string().min(1, 'give the calibration suite, e.g. --suite eval/cascade-calibration.json'),
  chain: z.string().min(1, 'give the cascade chain to calibrate, e.g. --chain cascade'),
  targetAccuracy: fractionFlag('--target-accuracy').optional(),
  maxCostPerExample: z.coerce
    .number('--max-cost-per-example takes dollars')
    .nonnegative('--max-cost-per-example takes dollars ≥ 0')
    .optional(),
  escalateShare: fractionFlag('--escalate-share').optional(),
  by: routeSignalSchema.optional(),
  samples: z.coerce
    .number()
    .int('--samples takes an integer')
    .min(0)
    .max(32, '--samples is at most 32')
    .optional(),
  out: z.string().min(1).optional(),
  evalDir: z.string().min(1).optional(),
  limit: z.coerce.number().int().positive('--limit takes a positive integer').optional(),
  concurrency: z.coerce.number().int().positive('--concurrency takes a positive integer').optional(),
  json: z.boolean().optional(),
});

function criterionOf(options: z.infer<typeof calibrateOptionsSchema>): CalibrationCriterion {
  const given: CalibrationCriterion[] = [];
  if (options.targetAccuracy !== undefined)
    given.push({ kind: 'target-accuracy', value: options.targetAccuracy });
  if (options.maxCostPerExample !== undefined)
    given.push({ kind: 'max-cost-per-example', value: options.maxCostPerExample });
  if (options.escalateShare !== undefined)
    given.push({ kind: 'escalate-share', value: options.escalateShare });
  if (given.length !== 1)
    throw new UserError(
      'dnc route calibrate: give exactly one of --target-accuracy X, --max-cost-per-example USD, --escalate-share S',
    );
  return given[0]!;
}

function renderResult(result: CalibrationResult, file: string): string {
  const { route, calibration } = result.routeFile;
  const achieved = calibration.achieved;
  const auroc = Object.entries(result.auroc)
    .map(([signal, value]) => `${signal} ${value.auroc === null ? '—' : value.auroc.toFixed(3)}`)
    .join(', ');
  return [
    `route: by ${route.by}, threshold ${route.threshold} (${calibration.criterion.kind} ${calibration.criterion.value}: ${calibration.met ? 'met' : 'NOT met; kept the closest point'})`,
    `on ${calibration.examples} calibration questions: accuracy ${(achieved.accuracy * 100).toFixed(1)}%, ` +
      `escalated ${(achieved.escalateShare * 100).toFixed(1)}%, $${formatDollars(achieved.costPerExampleUsd)} per question`,
    `AUROC (first decomposer's chain correct): ${auroc}`,
    `route file: ${file}`,
  ].join('\n');
}

async function calibrate(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = calibrateOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UserError(`dnc route calibrate: ${formatZodError(parsed.error)}`);
  const options = parsed.data;
  const criterion = criterionOf(options);
  const suite = await loadSuite(options.suite);
  const slug = options.chain.replace(/[^A-Za-z0-9._-]+/g, '-');
  const out = options.out ?? join('runs', 'routes', `${slug}.json`);
  let progress: Progress | undefined;
  let shown = 0;
  const result = await calibrateRoute({
    suite,
    suiteFile: options.suite,
    chain: options.chain,
    criterion,
    by: options.by,
    samples: options.samples,
    out: options.evalDir ?? join('runs', 'route-calibration', slug),
    limit: options.limit,
    concurrency: options.concurrency,
    onProgress: (state) => {
      progress ??= createProgress({ label: 'calibrate', total: state.total });
      progress.tick(state.done - shown, { spent: `$${formatDollars(state.spentUsd)}` });
      shown = state.done;
    },
  });
  progress?.done();
  await writeRouteFile(out, result.routeFile);
  if (options.json === true)
    printJson({
      routeFile: out,
      ...result.routeFile,
      route: { ...result.routeFile.route, threshold: String(result.routeFile.route.threshold) },
      auroc: result.auroc,
      curve: result.curve.map((point) => ({ ...point, threshold: String(point.threshold) })),
    });
  else printText(renderResult(result, out));
}

export function register(program: Command): void {
  const route = program.command('route').description('routing between bricks: cascades of decomposers');
  route
    .command('calibrate')
    .description(
      "pick a cascade chain's threshold on calibration data (never a test split) and write a route file",
    )
    .requiredOption(
      '--suite <file>',
      'calibration suite JSON (no test split), e.g. eval/cascade-calibration.json',
    )
    .requiredOption('--chain <name>', 'the cascade chain of the suite (decomposer list, cheapest first)')
    .option('--target-accuracy <x>', 'the cheapest threshold reaching this accuracy (a fraction)')
    .option('--max-cost-per-example <usd>', 'the most accurate threshold within this cost per question')
    .option('--escalate-share <s>', 'the most accurate threshold escalating at most this share of questions')
    .option(
      '--by <signal>',
      "route signal: mean-logprob, min-logprob, agreement or scorer (default: the chain's, else mean-logprob)",
    )
    .option(
      '--samples <k>',
      'sampled decompositions per question for the agreement signal (default 5 for agreement, else 0)',
    )
    .option('--out <file>', 'route file to write (default runs/routes/CHAIN.json)')
    .option(
      '--eval-dir <dir>',
      'where the calibration run keeps traces and its cache (default runs/route-calibration/CHAIN)',
    )
    .option('--limit <n>', 'at most N questions per calibration dataset')
    .option('--concurrency <n>', 'questions in flight')
    .option('--json', 'print one JSON object: the route file, the AUROC per signal and the curve')
    .action(calibrate);
}
