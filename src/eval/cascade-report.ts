/**
 * The cascade part of `report.json`: for each cascade chain × dataset, who decided, the whole
 * threshold curve (threshold → escalation share, score, cost per example) and the AUROC of
 * every route signal, all from the traces' probe paths (no brick runs again).
 */
import { chainDecomposers, type Chain } from '../data/schemas.js';
import type { InlineRoute } from '../data/route-schema.js';
import { routeSignals } from '../data/route-schema.js';
import {
  curvePoint,
  signalAuroc,
  thresholdCurve,
  type CurvePoint,
  type QuestionPaths,
} from '../runtime/routing/threshold-curve.js';
import type { CascadeCurvePoint, ReportCascade } from './report-schema.js';
import type { Trace } from './trace-schema.js';

export function reportThreshold(threshold: number): CascadeCurvePoint['threshold'] {
  if (threshold === Infinity) return 'Infinity';
  if (threshold === -Infinity) return '-Infinity';
  return threshold;
}

export function reportPoint(point: CurvePoint): CascadeCurvePoint {
  return { ...point, threshold: reportThreshold(point.threshold) };
}

/** The probe paths of traces that have them (one entry per question). */
export function questionPaths(traces: readonly Trace[]): QuestionPaths[] {
  return traces.flatMap((trace) => (trace.route === undefined ? [] : [trace.route.paths]));
}

function cascadeOf(chain: Chain, dataset: string, traces: readonly Trace[]): ReportCascade | undefined {
  const route = chain.route as InlineRoute | undefined;
  const routed = traces.filter((trace) => trace.route !== undefined);
  if (route === undefined || !('by' in route) || routed.length === 0) return undefined;
  const decomposers = chainDecomposers(chain);
  const questions = questionPaths(routed);
  const n = routed.length;
  const decidedBy = Object.fromEntries(decomposers.map((spec) => [spec, 0]));
  for (const trace of routed)
    decidedBy[trace.route!.decidedBy] = (decidedBy[trace.route!.decidedBy] ?? 0) + 1;
  const paths = decomposers.map((brick, index) => {
    const mean = (pick: (question: QuestionPaths) => number) =>
      questions.reduce((sum, question) => sum + pick(question), 0) / n;
    return {
      brick,
      score: mean((question) => question[index]!.score),
      decomposeUsdPerExample: mean((question) => question[index]!.decomposeUsd),
      costPerExampleUsd: mean((question) => question[index]!.decomposeUsd + question[index]!.solveUsd),
    };
  });
  const auroc: ReportCascade['auroc'] = {};
  for (const signal of routeSignals) {
    const measured = signalAuroc(questions, signal);
    if (measured.n > 0) auroc[signal] = measured;
  }
  return {
    chain: chain.name,
    dataset,
    n,
    decomposers,
    signal: route.by,
    threshold: reportThreshold(route.threshold),
    decidedBy,
    escalateShare: routed.filter((trace) => trace.route!.decidedAt > 0).length / n,
    overruledUsd: routed.reduce((sum, trace) => sum + trace.route!.overruledUsd, 0),
    paths,
    atThreshold: reportPoint(curvePoint(questions, route.by, route.threshold)),
    auroc,
    curve: thresholdCurve(questions, route.by).map(reportPoint),
    probeUsd: routed.reduce((sum, trace) => sum + trace.route!.probeUsd, 0),
  };
}

/** One entry per cascade chain × dataset with probe traces, in chain then dataset order. */
export function cascadeReports(
  chains: readonly Chain[],
  traces: readonly Trace[],
  datasets: readonly string[],
): ReportCascade[] {
  return chains.flatMap((chain) =>
    chainDecomposers(chain).length < 2
      ? []
      : datasets.flatMap((dataset) => {
          const entry = cascadeOf(
            chain,
            dataset,
            traces.filter((trace) => trace.chain === chain.name && trace.dataset === dataset),
          );
          return entry === undefined ? [] : [entry];
        }),
  );
}
