/**
 * `dnc route calibrate`: picks a cascade's threshold on calibration data and writes a route file.
 *
 * 1. The suite's datasets must be calibration data: a dataset whose split is `test` (a world
 *    split, or file examples whose `meta.split` says so) is refused before any brick runs, so
 *    the split a report quotes never chose its own threshold.
 * 2. The chain runs once per question with each decomposer's path probed (an ordinary eval of
 *    the one chain, cached: a rerun or a later eval of the same bricks pays nothing again).
 * 3. For the `scorer` signal a logistic regression is fitted on the first decomposer's paths
 *    (features: log-probabilities, length, agreement; label: its chain reached the gold answer);
 *    the threshold is chosen on 2-fold cross-fitted scores (each half scored by the model fitted
 *    on the other), and the scorer written is fitted on all of them.
 * 4. The threshold curve of the signal over all calibration questions gives the threshold the
 *    criterion picks (`threshold-curve.ts`): the cheapest point reaching the target accuracy, the
 *    most accurate within a cost per example or within an escalation share.
 */
import { UserError } from '../errors/user-error.js';
import { chainDecomposers, type Chain } from '../data/schemas.js';
import type { BrickLoader } from '../runtime/bricks/registry.js';
import type { CalibrationCriterion, RouteFile } from '../runtime/routing/route-file.js';
import {
  routeSamples,
  type InlineRoute,
  type RouteSignal,
  type ScorerFeature,
} from '../data/route-schema.js';
import { routeSignals, scorerFeatureNames } from '../data/route-schema.js';
import { fitScorer, scoreFeatures, type FeatureValues } from '../runtime/routing/scorer.js';
import {
  chooseThreshold,
  signalAuroc,
  thresholdCurve,
  type CurvePoint,
  type QuestionPaths,
} from '../runtime/routing/threshold-curve.js';
import { questionPaths } from './cascade-report.js';
import { loadSuiteDatasets } from './datasets.js';
import { runEval, type EvalProgress, type EvalResult } from './runner.js';
import type { Suite } from './suite.js';

export interface CalibrateOptions {
  suite: Suite;
  suiteFile: string;
  /** The cascade chain of the suite to calibrate. */
  chain: string;
  criterion: CalibrationCriterion;
  /** The signal to route by (default: the chain's inline `by`, else `mean-logprob`). */
  by?: RouteSignal;
  /** Sampled decompositions for the agreement signal (default: 5 for `agreement`, else 0). */
  samples?: number;
  /** The eval directory of the calibration run (traces, cache). */
  out: string;
  cacheFile?: string;
  limit?: number;
  concurrency?: number;
  cwd?: string;
  loaders?: readonly BrickLoader[];
  onProgress?: (progress: EvalProgress) => void;
}

export interface CalibrationResult {
  routeFile: RouteFile;
  curve: CurvePoint[];
  auroc: Record<string, { auroc: number | null; n: number }>;
  evaluation: EvalResult;
}

function findCascade(suite: Suite, name: string, suiteFile: string): Chain {
  const chain = suite.chains.find((candidate) => candidate.name === name);
  if (chain === undefined)
    throw new UserError(
      `dnc route calibrate: suite ${suiteFile} has no chain "${name}" (chains: ${suite.chains.map((item) => `"${item.name}"`).join(', ')})`,
    );
  if (chainDecomposers(chain).length < 2)
    throw new UserError(
      `dnc route calibrate: chain "${name}" is not a cascade; give it a list of decomposers, cheapest first, e.g. "decomposer": ["BRICK_DIR", "reference"]`,
    );
  return chain;
}

/** Refuses test data before any brick runs (world splits, and file examples whose meta says `test`). */
async function checkCalibrationData(options: CalibrateOptions): Promise<void> {
  const { suite, suiteFile } = options;
  for (const dataset of suite.datasets)
    if ('split' in dataset && dataset.split === 'test')
      throw new UserError(
        `dnc route calibrate: dataset "${dataset.name}" of ${suiteFile} is a test split; calibrate on held-out calibration data (e.g. split train or ood with a seed no report uses), never on the split you report`,
      );
  const loaded = await loadSuiteDatasets(suite.datasets, {
    limit: options.limit,
    cwd: options.cwd,
    suiteFile,
  });
  for (const dataset of loaded) {
    const testExample = dataset.examples.find((example) => example.meta?.split === 'test');
    if (testExample !== undefined)
      throw new UserError(
        `dnc route calibrate: dataset "${dataset.name}" of ${suiteFile} holds test examples (example "${testExample.id}" has meta.split "test"); calibrate on held-out calibration data, never on the split you report`,
      );
  }
}

function scorerFeatures(samples: number): ScorerFeature[] {
  return scorerFeatureNames.filter((feature) => feature !== 'agreement' || samples > 0);
}

/** Adds 2-fold cross-fitted scorer values to the first decomposer's paths; returns the scorer fitted on all. */
function crossFitScorer(questions: QuestionPaths[], traces: { features: FeatureValues }[], samples: number) {
  const features = scorerFeatures(samples);
  const examples = questions.map((paths, index) => ({
    values: traces[index]!.features,
    correct: paths[0]!.correct,
  }));
  const folds = [0, 1].map((fold) => examples.filter((_, index) => index % 2 === fold));
  const fitted = folds.map((fold) => fitScorer(features, fold));
  const scored = questions.map((paths, index) => {
    const value = scoreFeatures(fitted[1 - (index % 2)]!, examples[index]!.values);
    const first = { ...paths[0]!, signals: { ...paths[0]!.signals } };
    if (value === undefined) delete first.signals.scorer;
    else first.signals.scorer = value;
    return [first, ...paths.slice(1)];
  });
  return { scored, scorer: fitScorer(features, examples) };
}

export async function calibrateRoute(options: CalibrateOptions): Promise<CalibrationResult> {
  const chain = findCascade(options.suite, options.chain, options.suiteFile);
  await checkCalibrationData(options);
  const chainRoute = chain.route !== undefined && 'by' in chain.route ? chain.route : undefined;
  const by = options.by ?? chainRoute?.by ?? 'mean-logprob';
  const samples =
    options.samples ?? (by === 'agreement' ? 5 : chainRoute === undefined ? 0 : routeSamples(chainRoute));
  if (by === 'agreement' && samples < 2)
    throw new UserError('dnc route calibrate: --by agreement needs --samples of at least 2');
  // The run routes by log-probability at −∞ (the cheapest decomposer decides unless it faults);
  // the probes measure every signal, so the curve does not depend on the run's own route.
  const runRoute: InlineRoute = { by: 'mean-logprob', threshold: -Infinity, samples };
  const calibrationChain: Chain = { ...chain, route: runRoute };
  const evaluation = await runEval({
    suite: { ...options.suite, chains: [calibrationChain] },
    suiteFile: options.suiteFile,
    out: options.out,
    cacheFile: options.cacheFile,
    limit: options.limit,
    concurrency: options.concurrency,
    cwd: options.cwd,
    loaders: options.loaders,
    onProgress: options.onProgress,
  });
  const routed = evaluation.traces.filter((trace) => trace.route !== undefined);
  if (routed.length === 0)
    throw new UserError(
      `dnc route calibrate: no calibration question ran through chain "${chain.name}" (every one failed: see ${evaluation.summary.tracesFile})`,
    );
  let questions = questionPaths(routed);
  const route: InlineRoute = { by, threshold: 0, ...(samples > 0 ? { samples } : {}) };
  if (by === 'scorer') {
    const fit = crossFitScorer(
      questions,
      routed.map((trace) => ({ features: trace.route!.paths[0]!.features })),
      samples,
    );
    questions = fit.scored;
    route.scorer = fit.scorer;
  }
  const curve = thresholdCurve(questions, by);
  const chosen = chooseThreshold(curve, options.criterion);
  route.threshold = chosen.point.threshold;
  const auroc = Object.fromEntries(
    routeSignals
      .map((signal) => [signal, signalAuroc(questions, signal)] as const)
      .filter(([, value]) => value.n > 0),
  );
  const routeFile: RouteFile = {
    version: 1,
    chain: chain.name,
    decomposers: chainDecomposers(chain),
    route,
    calibration: {
      suite: options.suiteFile,
      datasets: options.suite.datasets.map((dataset) => ({
        ...dataset,
        ...(options.limit === undefined ? {} : { limit: options.limit }),
      })),
      examples: routed.length,
      criterion: options.criterion,
      met: chosen.met,
      achieved: {
        accuracy: chosen.point.score,
        escalateShare: chosen.point.escalateShare,
        costPerExampleUsd: chosen.point.costPerExampleUsd,
      },
      createdAt: new Date().toISOString(),
    },
  };
  return { routeFile, curve, auroc, evaluation };
}
