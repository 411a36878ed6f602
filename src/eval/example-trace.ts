/**
 * A chain run on one dataset example → the eval's per-example `Trace`: the sub-questions as the
 * decomposer wrote them, the answers, the score under the dataset's metric, the failure class
 * and what each stage cost.
 */
import { scoreAnswer } from '../data/metrics/index.js';
import { decomposerLabel, type Chain, type Example } from '../data/schemas.js';
import type { ChainFailure, ChainTrace } from '../runtime/chain-trace.js';
import { emptyTotals, type CostTotals, type Stage } from '../runtime/cost-meter.js';
import {
  traceSchema,
  type BrickCost,
  type FailureKind,
  type Trace,
  type TraceRoute,
} from './trace-schema.js';

export interface TraceContext {
  chain: Chain;
  dataset: string;
  example: Example;
}

function stageBrick(chain: Chain, stage: Stage): string {
  if (stage === 'solve') return chain.solver;
  return decomposerLabel(chain) ?? 'none';
}

function brickCost(brick: string, totals: CostTotals): BrickCost {
  const cost: BrickCost = {
    brick,
    calls: totals.calls,
    inputTokens: totals.inputTokens,
    outputTokens: totals.outputTokens,
    latencyMs: totals.latencyMs,
    costUsd: totals.costUsd,
    savedUsd: totals.savedUsd,
    cached: totals.cacheHits,
  };
  if (totals.flops > 0) cost.flops = totals.flops;
  if (totals.cpuMs > 0) cost.cpuMs = totals.cpuMs;
  return cost;
}

/** The sub-questions the decomposer proposed (static: its list; dynamic: each proposal). */
function proposedSubquestions(trace: ChainTrace): string[] {
  if (trace.mode === 'single') return [];
  const decomposeSteps = trace.steps.filter((step) => step.stage === 'decompose');
  // A cascade's last decompose step is the decomposition it kept.
  if (trace.mode === 'static') return decomposeSteps.at(-1)?.subquestions ?? [];
  return decomposeSteps.flatMap((step) => (step.subquestion === undefined ? [] : [step.subquestion]));
}

/** A chain that ended early maps onto the report's failure classes; a plain miss is `wrong-answer`. */
function failureOf(failure: ChainFailure, correct: boolean): FailureKind {
  switch (failure) {
    case 'none':
      return correct ? 'none' : 'wrong-answer';
    case 'no-answer':
      return 'wrong-answer';
    default:
      return failure;
  }
}

function finish(trace: Trace): Trace {
  return traceSchema.parse(trace);
}

export function exampleTrace(context: TraceContext, run: ChainTrace, route?: TraceRoute): Trace {
  const { chain, dataset, example } = context;
  const subquestions = proposedSubquestions(run);
  const answer = run.answer ?? '';
  const scored = run.failure === 'none' ? scoreAnswer(answer, example) : { correct: false, score: 0 };
  const trace: Trace = {
    chain: chain.name,
    dataset,
    exampleId: example.id,
    question: example.question,
    subquestions,
    subanswers: run.subanswers.slice(0, Math.max(subquestions.length, 0)),
    answer,
    gold: example.answer,
    correct: scored.correct,
    score: scored.score,
    failure: failureOf(run.failure, scored.correct),
    cost: {
      decompose: brickCost(stageBrick(chain, 'decompose'), run.cost.byStage.decompose),
      solve: brickCost(stageBrick(chain, 'solve'), run.cost.byStage.solve),
    },
    latencyMs: run.latencyMs,
  };
  if (run.failure === 'error') trace.error = run.error ?? 'a brick call failed';
  if (example.gold !== undefined) trace.goldSubquestions = example.gold.subquestions;
  if (route !== undefined) trace.route = route;
  return finish(trace);
}

/** The trace of an example whose chain could not run at all (an unexpected exception). */
export function errorTrace(context: TraceContext, error: unknown, latencyMs: number): Trace {
  const { chain, dataset, example } = context;
  const message = error instanceof Error ? error.message : String(error);
  const trace: Trace = {
    chain: chain.name,
    dataset,
    exampleId: example.id,
    question: example.question,
    subquestions: [],
    subanswers: [],
    answer: '',
    gold: example.answer,
    correct: false,
    score: 0,
    failure: 'error',
    error: message === '' ? 'the chain failed without a message' : message,
    cost: {
      decompose: brickCost(stageBrick(chain, 'decompose'), emptyTotals()),
      solve: brickCost(stageBrick(chain, 'solve'), emptyTotals()),
    },
    latencyMs,
  };
  if (example.gold !== undefined) trace.goldSubquestions = example.gold.subquestions;
  return finish(trace);
}
