/**
 * `report.json`, the eval report of DESIGN.md ("Eval report"): `{ suite, results }` with one
 * result per chain × dataset. The eval runner writes it, `--json` prints it, and serve and
 * the pipeline read it; every one of them validates it with `reportSchema`.
 *
 * Units and conventions:
 * - `score` and `ci95` are fractions in [0, 1] (the mean of the per-example scores; the
 *   interval is a seeded percentile bootstrap, see `statistics.ts`).
 * - `costUsd` holds TOTAL dollars spent on the result's `n` examples; `costPerExampleUsd` is
 *   the same divided by `n`. `savedUsd` is the total the cache saved (hits cost $0).
 * - `tokens` are totals over the `n` examples.
 * - `latencyMs` percentiles are over per-example end-to-end latency (type-7 interpolation).
 * - `simulated` is true when a brick is the synthetic worlds' `reference` expert, whose price
 *   is a simulation of a large remote model, not money spent.
 */
import { z } from 'zod';
import { failureKindSchema } from './trace-schema.js';

const dollars = z.number().finite().nonnegative();
const tokenCount = z.number().int().nonnegative();

export const stageDollarsSchema = z.strictObject({ decompose: dollars, solve: dollars, total: dollars });
export type StageDollars = z.infer<typeof stageDollarsSchema>;

const tokenPairSchema = z.strictObject({ input: tokenCount, output: tokenCount });

export const reportTokensSchema = z.strictObject({ decompose: tokenPairSchema, solve: tokenPairSchema });
export type ReportTokens = z.infer<typeof reportTokensSchema>;

export const failureCountsSchema = z.strictObject(
  Object.fromEntries(failureKindSchema.options.map((kind) => [kind, tokenCount])) as Record<
    z.infer<typeof failureKindSchema>,
    typeof tokenCount
  >,
);
export type FailureCounts = z.infer<typeof failureCountsSchema>;

export const reportDecompositionSchema = z.strictObject({
  /** Fraction of examples whose sub-question count equals the gold count. */
  stepCountAgreement: z.number().min(0).max(1),
  /** Mean |predicted count − gold count|. */
  meanStepDifference: z.number().finite().nonnegative(),
  /** Mean best-match ROUGE-L of predicted sub-questions against gold ones. */
  rougeL: z.number().min(0).max(1),
  /** Examples with a gold decomposition the metrics are computed over. */
  n: z.number().int().positive(),
});
export type ReportDecomposition = z.infer<typeof reportDecompositionSchema>;

export const reportResultSchema = z
  .strictObject({
    chain: z.string().min(1),
    /** Decomposer brick spec; null for a `single` chain. */
    decomposer: z.string().min(1).nullable(),
    solver: z.string().min(1),
    mode: z.enum(['static', 'dynamic', 'single']),
    dataset: z.string().min(1),
    n: z.number().int().positive(),
    score: z.number().min(0).max(1),
    ci95: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]),
    /** Total dollars over the `n` examples. */
    costUsd: stageDollarsSchema,
    savedUsd: dollars,
    tokens: reportTokensSchema,
    latencyMs: z.strictObject({ p50: z.number().nonnegative(), p95: z.number().nonnegative() }),
    // Extras beyond DESIGN.md's required fields: optional, so a minimal report still validates.
    /** `costUsd` divided by `n`. */
    costPerExampleUsd: stageDollarsSchema.optional(),
    failures: failureCountsSchema.optional(),
    /** Against gold decompositions; null for `single` chains or datasets without gold. */
    decomposition: reportDecompositionSchema.nullable().optional(),
    simulated: z.boolean().optional(),
    /** Whether the result is on its dataset's Pareto frontier (cost per example vs score). */
    paretoOptimal: z.boolean().optional(),
  })
  .refine((result) => result.ci95[0] <= result.ci95[1], {
    message: 'ci95 must be [low, high] with low ≤ high',
    path: ['ci95'],
  })
  .refine((result) => (result.mode === 'single') === (result.decomposer === null), {
    message: '`decomposer` is null exactly for `single` chains; give the decomposer spec otherwise',
    path: ['decomposer'],
  });
export type ReportResult = z.infer<typeof reportResultSchema>;

/** A threshold as JSON can hold it (±Infinity as strings). */
const reportThresholdSchema = z.union([z.number().finite(), z.literal('-Infinity'), z.literal('Infinity')]);
const fraction = z.number().min(0).max(1);

export const cascadeCurvePointSchema = z.strictObject({
  threshold: reportThresholdSchema,
  /** Share of questions the first decomposer did not decide. */
  escalateShare: fraction,
  score: fraction,
  /** Full price per example (spent plus cache-saved), decomposition and solving. */
  costPerExampleUsd: dollars,
  decomposeUsdPerExample: dollars,
});
export type CascadeCurvePoint = z.infer<typeof cascadeCurvePointSchema>;

/** A cascade chain on one dataset: its routing, the whole threshold curve and each signal's AUROC. */
export const reportCascadeSchema = z.strictObject({
  chain: z.string().min(1),
  dataset: z.string().min(1),
  n: z.number().int().positive(),
  decomposers: z.array(z.string().min(1)).min(2),
  signal: z.string().min(1),
  threshold: reportThresholdSchema,
  /** Questions each decomposer decided (by spec), and the share escalated past the first. */
  decidedBy: z.record(z.string(), tokenCount),
  escalateShare: fraction,
  /** What the overruled decompositions cost, cache hits at their saved price (total over `n`). */
  overruledUsd: dollars,
  /** Each decomposer's own chain (from the probes): score and decomposition dollars per example. */
  paths: z.array(
    z.strictObject({
      brick: z.string().min(1),
      score: fraction,
      decomposeUsdPerExample: dollars,
      costPerExampleUsd: dollars,
    }),
  ),
  /** The curve point at the chain's threshold (computed from the probes, like the rest of the curve). */
  atThreshold: cascadeCurvePointSchema,
  /** AUROC of each signal the first decomposer measured, for "its chain reaches the gold answer". */
  auroc: z.record(z.string(), z.strictObject({ auroc: fraction.nullable(), n: tokenCount })),
  curve: z.array(cascadeCurvePointSchema),
  /** Dollars the eval's probes spent beyond the cascade's own calls. */
  probeUsd: dollars,
});
export type ReportCascade = z.infer<typeof reportCascadeSchema>;

/** One mixture layer's routing on a dataset (src/student/moe-metrics.ts: the training log's `routing`). */
export const reportLayerRoutingSchema = z.strictObject({
  layer: z.number().int().nonnegative(),
  /** Share of routing slots per expert (tokens routed to e / (tokens · k)); sums to 1. */
  shares: z.array(z.number().min(0).max(1)),
  /** Mean routing entropy in nats (at most ln E). */
  entropy: z.number().nonnegative(),
  /** exp(entropy of the shares) / E: 1 when every expert gets the same share. */
  utilization: z.number().min(0).max(1),
});
export type ReportLayerRouting = z.infer<typeof reportLayerRoutingSchema>;

/** A mixture-of-experts decomposer brick's routing per eval dataset (src/eval/expert-routing.ts). */
export const reportExpertRoutingSchema = z.strictObject({
  /** The decomposer's brick spec, as the suite names it. */
  decomposer: z.string().min(1),
  experts: z.number().int().positive(),
  topK: z.number().int().positive(),
  router: z.string().min(1),
  /** Which tokens were routed: the decompose prompts alone, or the prompts and the brick's decompositions. */
  tokens: z.enum(['prompt', 'prompt+decomposition']),
  datasets: z.array(
    z.strictObject({
      dataset: z.string().min(1),
      examples: tokenCount,
      tokens: tokenCount,
      layers: z.array(reportLayerRoutingSchema),
    }),
  ),
});
export type ReportExpertRouting = z.infer<typeof reportExpertRoutingSchema>;

export const reportSchema = z
  .strictObject({
    /** The suite's name. */
    suite: z.string().min(1),
    results: z.array(reportResultSchema),
    /** Cascade chains (several decomposers): routing, threshold curve and AUROC per dataset. */
    cascades: z.array(reportCascadeSchema).optional(),
    /** Mixture-of-experts decomposer bricks: expert shares, entropy and utilization per dataset. */
    experts: z.array(reportExpertRoutingSchema).optional(),
  })
  .refine(
    (report) =>
      new Set(report.results.map((result) => JSON.stringify([result.chain, result.dataset]))).size ===
      report.results.length,
    { message: 'each chain × dataset pair must appear once in `results`', path: ['results'] },
  );
export type Report = z.infer<typeof reportSchema>;
