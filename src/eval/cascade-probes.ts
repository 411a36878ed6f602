/**
 * Eval probes of a cascade chain: besides the cascade itself, each of its decomposers is run
 * alone on the example (`probeDecomposer`), through the same brick cache and chain scope, so
 * the calls the cascade made are served from the cache and only the paths it did not take are
 * paid for. From the paths the whole threshold curve follows without running a brick again
 * (`runtime/routing/threshold-curve.ts`). What the probes spend is eval overhead: it is
 * recorded as `route.probeUsd`, not in the cascade's own cost.
 */
import { scoreAnswer } from '../data/metrics/index.js';
import { chainDecomposers, type Chain, type Example } from '../data/schemas.js';
import { runChain, type ChainBricks, type ChainOptions } from '../runtime/chain.js';
import type { ChainTrace } from '../runtime/chain-trace.js';
import { routeSignals, type InlineRoute } from '../data/route-schema.js';
import { signalValueOf } from '../runtime/routing/route-signal.js';
import type { FeatureValues } from '../runtime/routing/scorer.js';
import { scoreFeatures } from '../runtime/routing/scorer.js';
import type { CascadePath, TraceRoute } from './trace-schema.js';

export function isCascade(chain: Chain): boolean {
  return chainDecomposers(chain).length > 1;
}

/** The route signals of a probe's decomposition (from its recorded features and confidence). */
function pathSignals(
  trace: ChainTrace,
  route: InlineRoute,
): { signals: Record<string, number>; features: FeatureValues } {
  const decision = trace.steps.find((step) => step.stage === 'decompose')?.route;
  if (decision === undefined) return { signals: {}, features: {} };
  const output = { subquestions: [], kind: 'subquestions' as const, confidence: decision.confidence };
  const signals: Record<string, number> = {};
  for (const signal of routeSignals) {
    const value =
      signal === 'scorer'
        ? route.scorer === undefined
          ? undefined
          : scoreFeatures(route.scorer, decision.features)
        : signalValueOf(signal, output);
    if (value !== undefined && Number.isFinite(value)) signals[signal] = value;
  }
  return { signals, features: { ...decision.features } };
}

function fullPrice(trace: ChainTrace, stage: 'decompose' | 'solve'): number {
  const totals = trace.cost.byStage[stage];
  return totals.costUsd + totals.savedUsd;
}

function pathOf(trace: ChainTrace, brick: string, example: Example, route: InlineRoute): CascadePath {
  const scored =
    trace.failure === 'none' ? scoreAnswer(trace.answer ?? '', example) : { correct: false, score: 0 };
  const decision = trace.steps.find((step) => step.stage === 'decompose')?.route;
  return {
    brick,
    correct: scored.correct,
    score: scored.score,
    decomposeUsd: fullPrice(trace, 'decompose'),
    solveUsd: fullPrice(trace, 'solve'),
    faults: decision?.faults ?? [],
    ...pathSignals(trace, route),
  };
}

/**
 * Runs every decomposer's path of a cascade on one example. `bricksFor(k)` gives the chain's
 * bricks as seen by probe k (the cache bound to that probe's owner). Throws when a probe's brick
 * call fails, so the example is retried on the next run.
 */
export async function probeCascade(
  chain: Chain,
  cascade: ChainTrace,
  example: Example,
  bricksFor: (probe: number) => ChainBricks,
  options: ChainOptions,
): Promise<TraceRoute> {
  const route = chain.route as InlineRoute;
  const specs = chainDecomposers(chain);
  const paths: CascadePath[] = [];
  let probeUsd = 0;
  for (const [index, spec] of specs.entries()) {
    const trace = await runChain(
      chain,
      bricksFor(index),
      { question: example.question, context: example.context, example },
      { ...options, probeDecomposer: index },
    );
    if (trace.failure === 'error')
      throw new Error(`the probe of decomposer ${spec} failed: ${trace.error ?? 'a brick call failed'}`);
    probeUsd += trace.cost.total.costUsd;
    paths.push(pathOf(trace, spec, example, route));
  }
  const outcome = cascade.cascade;
  return {
    decidedBy: outcome?.decidedBy ?? specs.at(-1)!,
    decidedAt: outcome?.decidedAt ?? specs.length - 1,
    escalations: outcome?.escalations ?? 0,
    overruledUsd: outcome?.overruledUsd ?? 0,
    paths,
    probeUsd,
  };
}
