/**
 * The brick boundary (specification v1): a loadable module that decomposes questions,
 * solves them, or both. Every call returns its result together with what it cost (usage,
 * latency, dollars; FLOPs and CPU time for local bricks), its raw text and any repairs the
 * parser made. Chains, eval and serve talk to every kind of brick through this interface only.
 */
import type { Example, Usage } from '../../data/schemas.js';
import type { AnsweredSubquestion } from '../../prompts/index.js';

export type BrickKind = 'onnx' | 'openai' | 'reference' | 'gold';
export type BrickRole = 'decomposer' | 'solver';
export type BrickFinishReason = 'stop' | 'length' | 'content-filter' | 'error' | 'other';

/** What every brick call reports besides its answer. */
export interface BrickCallReport {
  usage: Usage;
  latencyMs: number;
  /** Dollars spent on this call (0 for a cache hit). */
  costUsd: number;
  /** Dollars a cache hit avoided spending. */
  savedUsd?: number;
  cached?: boolean;
  /** Floating-point operations of a local brick (≈ 2 × parameters × tokens). */
  flops?: number;
  /** CPU milliseconds a local brick used. */
  cpuMs?: number;
  /** True when usage and dollars are estimates for a simulated model (the reference expert). */
  simulated?: boolean;
  /** The brick's output text as produced (what was parsed). */
  raw: string;
  warnings: string[];
  finishReason: BrickFinishReason;
  rawFinishReason?: string;
}

export type BrickResult<T> = T & BrickCallReport;

interface CallInput {
  question: string;
  context?: string;
  /** The dataset example being run, when there is one (the `gold` brick reads its decomposition). */
  example?: Example;
  signal?: AbortSignal;
  /** The most tokens this call may generate (a served request's `max_tokens`); absent: the brick's own. */
  maxNewTokens?: number;
}

export interface DecomposeInput extends CallInput {
  maxSubquestions: number;
  /**
   * Sampled decompositions to draw besides the answer, to measure how often they agree with it
   * (`confidence.agreement`; a cascade's `agreement` route asks for them). Bricks that cannot
   * sample ignore it.
   */
  confidenceSamples?: number;
}

/**
 * How sure a brick was of its decomposition (bricks that can tell: local ONNX bricks). Log-
 * probabilities are per generated token (the end token included), under the distribution each
 * token was chosen from.
 */
export interface DecompositionConfidence {
  meanLogProbability: number;
  minLogProbability: number;
  /** Generated tokens the log-probabilities are over. */
  tokens: number;
  /** Share of `samples` sampled decompositions equal to the answer (when samples were asked for). */
  agreement?: number;
  samples?: number;
}

/**
 * `subquestions`: a usable list; `no-decomposition`: the brick says the question is one step
 * (solve it directly); `failed`: nothing usable came out (the chain's `no-decomposition` failure).
 */
export type DecompositionKind = 'subquestions' | 'no-decomposition' | 'failed';

export interface DecomposeOutput {
  subquestions: string[];
  kind: DecompositionKind;
  /** True when the brick wrote more sub-questions than `maxSubquestions` and the rest were cut. */
  truncated?: boolean;
  /** The brick's confidence in this decomposition, when it can measure one. */
  confidence?: DecompositionConfidence;
}

export interface NextSubquestionInput extends CallInput {
  previous: readonly AnsweredSubquestion[];
  maxSubquestions: number;
}

export interface NextSubquestionOutput {
  /** The next sub-question, or null when the brick is done (or gave nothing usable: see `done`). */
  subquestion: string | null;
  /** True for an explicit "done"; false with a null sub-question means the output was unusable. */
  done: boolean;
}

export interface SolveInput extends CallInput {
  /** Sub-questions to answer now, in order (`#k` already substituted by a stepwise chain). */
  subquestions: readonly string[];
  /** Sub-questions answered earlier, given as known facts. */
  previous?: readonly AnsweredSubquestion[];
}

export interface Unanswerable {
  /** 0-based index into `subquestions`, or -1 for the question itself. */
  index: number;
  subquestion: string;
  reason: string;
}

export interface SolveOutput {
  /** Answers to `subquestions`, in order (fewer when one was unanswerable). */
  subanswers: string[];
  /** The final answer to the question as the solver sees it now; undefined when it gave none. */
  answer: string | undefined;
  unanswerable?: Unanswerable;
}

export interface Brick {
  readonly specificationVersion: 'v1';
  /** The spec it was loaded from (`reference`, `openai:gpt-4o-mini`, a directory). */
  readonly spec: string;
  readonly kind: BrickKind;
  /** The role a manifest declares; bricks without one can play whatever methods they have. */
  readonly role?: BrickRole;
  /** The model name used for price lookups and reports. */
  readonly model: string;
  decompose?(input: DecomposeInput): Promise<BrickResult<DecomposeOutput>>;
  nextSubquestion?(input: NextSubquestionInput): Promise<BrickResult<NextSubquestionOutput>>;
  solve?(input: SolveInput): Promise<BrickResult<SolveOutput>>;
  close?(): Promise<void>;
}

export type { AnsweredSubquestion };
