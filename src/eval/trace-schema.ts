/**
 * The per-example trace of an evaluation: one line of `traces.jsonl` per (chain, dataset,
 * example). The eval runner writes these; the report layer (`aggregate.ts`) turns them into
 * `report.json`, `report.md` and `report.html`. Objects are strict: an unknown key is a
 * runner bug or a format mismatch and is reported, not silently carried.
 */
import { z } from 'zod';

const nonNegative = z.number().finite().nonnegative();
const count = z.number().int().nonnegative();

/**
 * What one brick (the decomposer or the solver of a chain) spent on one example, summed over
 * all its calls for that example.
 */
export const brickCostSchema = z.strictObject({
  /** The brick spec (`reference`, `gold`, `openai:MODEL`, a brick directory), or `none` when the stage did not run (the decomposer of a `single` chain). */
  brick: z.string().min(1, 'a brick cost needs the brick spec, or `none` for a stage that did not run'),
  /** Calls made, cache hits included. */
  calls: count,
  inputTokens: count,
  outputTokens: count,
  /** Wall-clock milliseconds spent in this brick (0 for cache hits). */
  latencyMs: nonNegative,
  /** Floating-point operations of a local brick (≈ 2 × parameters × tokens). */
  flops: nonNegative.optional(),
  /** Measured CPU milliseconds of a local brick. */
  cpuMs: nonNegative.optional(),
  /** Dollars spent (price table for remote bricks, $/CPU-hour for local ones; 0 for cache hits). */
  costUsd: nonNegative,
  /** Dollars the calls served from cache would have cost. */
  savedUsd: nonNegative,
  /** How many of `calls` were served from the cache. */
  cached: count,
});
export type BrickCost = z.infer<typeof brickCostSchema>;

export const failureKindSchema = z.enum([
  /** Correct final answer. */
  'none',
  /** The decomposer produced no usable sub-questions where the question needed them. */
  'no-decomposition',
  /** The solver could not answer one of the sub-questions. */
  'unanswerable-subquestion',
  /** Everything ran, the final answer is wrong. */
  'wrong-answer',
  /** A brick call failed (network, parse, crash); `error` says what. */
  'error',
]);
export type FailureKind = z.infer<typeof failureKindSchema>;
export const failureKinds: readonly FailureKind[] = failureKindSchema.options;

/** One decomposer of a cascade run alone on the example (an eval probe): what it would give. */
export const cascadePathSchema = z.strictObject({
  brick: z.string().min(1),
  correct: z.boolean(),
  score: z.number().min(0).max(1),
  /** Full price of the path's calls (dollars spent plus dollars a cache hit saved). */
  decomposeUsd: nonNegative,
  solveUsd: nonNegative,
  faults: z.array(z.string()),
  /** Route signals measured on the decomposition (absent for the last decomposer and for bricks that measure none). */
  signals: z.record(z.string(), z.number()),
  /** The learned scorer's features (see src/runtime/routing/scorer.ts). */
  features: z.record(z.string(), z.number()),
});
export type CascadePath = z.infer<typeof cascadePathSchema>;

/** A cascade chain's routing on one example, and each decomposer's path for the threshold curve. */
export const traceRouteSchema = z.strictObject({
  decidedBy: z.string().min(1),
  decidedAt: count,
  escalations: count,
  overruledUsd: nonNegative,
  paths: z.array(cascadePathSchema),
  /** Dollars the probes spent beyond the cascade's own calls (eval overhead, not the chain's cost). */
  probeUsd: nonNegative,
});
export type TraceRoute = z.infer<typeof traceRouteSchema>;

export const traceSchema = z
  .strictObject({
    /** The chain's `name` in the suite. */
    chain: z.string().min(1),
    /** The dataset's `name` in the suite. */
    dataset: z.string().min(1),
    exampleId: z.string().min(1),
    question: z.string(),
    /** Sub-questions as the decomposer wrote them (empty for `single` chains). */
    subquestions: z.array(z.string()),
    /** The solver's answers to the sub-questions, in order (fewer when it stopped early). */
    subanswers: z.array(z.string()),
    /** The final answer the chain gave (as parsed from the solver's output). */
    answer: z.string(),
    gold: z.string(),
    /** Whether the answer counts as correct under the dataset's metric (EM for text). */
    correct: z.boolean(),
    /** The dataset's score for this example in [0, 1] (1/0 for EM and numbers, F1 for text and DROP). */
    score: z.number().min(0).max(1),
    failure: failureKindSchema,
    error: z.string().optional(),
    cost: z.strictObject({ decompose: brickCostSchema, solve: brickCostSchema }),
    /** End-to-end wall-clock milliseconds for the example. */
    latencyMs: nonNegative,
    /** The example's gold decomposition, when the dataset has one. */
    goldSubquestions: z.array(z.string()).optional(),
    /** Cascade chains: which decomposer decided, and every decomposer's path (for the curve). */
    route: traceRouteSchema.optional(),
  })
  .refine((trace) => trace.correct === (trace.failure === 'none'), {
    message: '`failure` must be `none` exactly when `correct` is true; use `wrong-answer` for a plain miss',
    path: ['failure'],
  })
  .refine((trace) => trace.failure !== 'error' || (trace.error !== undefined && trace.error !== ''), {
    message: 'a trace with failure `error` needs an `error` message saying what failed',
    path: ['error'],
  })
  .refine((trace) => trace.subanswers.length <= trace.subquestions.length, {
    message: 'there are more sub-answers than sub-questions; each sub-answer answers one sub-question',
    path: ['subanswers'],
  })
  .refine(
    (trace) =>
      trace.cost.decompose.cached <= trace.cost.decompose.calls &&
      trace.cost.solve.cached <= trace.cost.solve.calls,
    { message: '`cached` counts calls served from cache, so it cannot exceed `calls`', path: ['cost'] },
  );
export type Trace = z.infer<typeof traceSchema>;
