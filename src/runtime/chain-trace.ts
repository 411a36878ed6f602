/** What a chain run returns: every step as it happened, the answers, the failure class and the cost. */
import type { ChainMode } from '../data/schemas.js';
import type { BrickFinishReason, BrickKind, DecompositionConfidence, Unanswerable } from './bricks/brick.js';
import type { RouteSignal } from '../data/route-schema.js';
import type { FeatureValues } from './routing/scorer.js';
import type { CostSummary, MeteredCall, Stage } from './cost-meter.js';

/**
 * `none`: an answer came out. `no-decomposition`: the decomposer gave nothing usable.
 * `unanswerable-subquestion`: the solver could not answer a sub-question (or the question).
 * `no-answer`: the solver answered but gave no final answer. `error`: a brick call failed.
 */
export type ChainFailure = 'none' | 'no-decomposition' | 'unanswerable-subquestion' | 'no-answer' | 'error';

/** A cascade's verdict on one decomposition: kept, or passed on to the next decomposer. */
export interface RouteDecision {
  signal: RouteSignal;
  /** The signal's value (absent for the last decomposer, which is never overruled). */
  value?: number;
  threshold: number;
  faults: string[];
  confidence?: DecompositionConfidence;
  /** What a learned scorer reads from the decomposition. */
  features: FeatureValues;
  escalated: boolean;
}

/** Which decomposer of a cascade decided the question, and what asking the others first cost. */
export interface CascadeOutcome {
  decidedBy: string;
  /** 0-based position of the deciding decomposer in the cascade. */
  decidedAt: number;
  /** Decomposers asked and overruled before the deciding one. */
  escalations: number;
  /** What the overruled decompositions cost (a cache hit at the price it saved). */
  overruledUsd: number;
}

export interface ChainStep extends MeteredCall {
  /** 0-based position in the trace. */
  index: number;
  stage: Stage;
  brick: string;
  kind: BrickKind;
  /** Decompose (dynamic): the proposed sub-question; solve: the sub-question answered, `#k` substituted. */
  subquestion?: string;
  /** Decompose (static): the sub-questions proposed; one-call solve: the sub-questions sent. */
  subquestions?: string[];
  /** Solve: the sub-answer (or the final answer of a direct solve). */
  answer?: string;
  /** One-call solve: the sub-answers. */
  subanswers?: string[];
  raw: string;
  warnings: string[];
  finishReason: BrickFinishReason;
  /** Cascade decompose steps: the route's verdict. */
  route?: RouteDecision;
}

export interface ChainTrace {
  chain: string;
  mode: ChainMode;
  question: string;
  /** The sub-questions as solved (`#k` substituted), in order. */
  subquestions: string[];
  subanswers: string[];
  answer: string | undefined;
  failure: ChainFailure;
  /** The error message (failure `error`). */
  error?: string;
  unanswerable?: Unanswerable;
  steps: ChainStep[];
  /** Chain-level notes: truncation at the cap, fallbacks taken, repairs made by bricks. */
  warnings: string[];
  cost: CostSummary;
  /** Cascades: which decomposer decided and what escalating cost. */
  cascade?: CascadeOutcome;
  /** Wall-clock time of the whole chain. */
  latencyMs: number;
}
