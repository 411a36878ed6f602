/**
 * The `route` rule of a cascade chain (a chain whose `decomposer` is a list, cheapest first):
 *
 *   { "by": "mean-logprob" | "min-logprob" | "agreement" | "scorer", "threshold": T,
 *     "samples"?: K, "scorer"?: SCORER }            (inline)
 *   { "file": "eval/routes/NAME.json" }              (a route file written by `dnc route calibrate`)
 *
 * The first decomposer answers; the next is asked when the decomposition has a fault or its
 * confidence (the `by` signal) is under `threshold`. `threshold` is a number, or the strings
 * "-Infinity" (never escalate on confidence: the cheapest decomposer's chain, faults aside) and
 * "Infinity" (always escalate: the last decomposer's chain), which JSON cannot write as numbers.
 */
import { z } from 'zod';

export const routeSignals = ['mean-logprob', 'min-logprob', 'agreement', 'scorer'] as const;
export const routeSignalSchema = z.enum(routeSignals, {
  error: `\`by\` is one of ${routeSignals.join(', ')}`,
});
export type RouteSignal = z.infer<typeof routeSignalSchema>;

/** A threshold: any number, or "-Infinity" / "Infinity" (JSON has no infinite numbers). */
export const thresholdSchema = z.union(
  [
    // Any number but NaN: ±Infinity come from code (and from the strings below).
    z.custom<number>((value) => typeof value === 'number' && !Number.isNaN(value)),
    z.literal('-Infinity').transform(() => -Infinity),
    z.literal('Infinity').transform(() => Infinity),
  ],
  { error: '`threshold` is a number, "-Infinity" or "Infinity"' },
);

/** The features a learned scorer reads (see `scorer.ts`). */
export const scorerFeatureNames = [
  'mean-logprob',
  'min-logprob',
  'log-output-tokens',
  'subquestions',
  'no-decomposition',
  'agreement',
] as const;
export type ScorerFeature = (typeof scorerFeatureNames)[number];

/** A logistic-regression scorer: P(correct) = σ(bias + Σ weight·(feature − mean)/scale). */
export const scorerSchema = z.strictObject({
  features: z.array(z.enum(scorerFeatureNames)).min(1, 'a scorer needs at least one feature'),
  weights: z.array(z.number().finite()),
  bias: z.number().finite(),
  means: z.array(z.number().finite()),
  scales: z.array(z.number().finite().positive()),
});
export type Scorer = z.infer<typeof scorerSchema>;

export const inlineRouteSchema = z
  .strictObject({
    by: routeSignalSchema,
    threshold: thresholdSchema,
    /** Sampled decompositions drawn to measure agreement (default 5 when `by` is `agreement`, else 0). */
    samples: z.number().int().min(0).max(32).optional(),
    scorer: scorerSchema.optional(),
  })
  .refine((route) => route.by !== 'scorer' || route.scorer !== undefined, {
    message: 'route `by: "scorer"` needs a `scorer` (write one with `dnc route calibrate --by scorer`)',
    path: ['scorer'],
  })
  .refine((route) => route.by !== 'agreement' || route.samples !== 0, {
    message: 'route `by: "agreement"` needs `samples` ≥ 2 (or leave it out for 5)',
    path: ['samples'],
  });
export type InlineRoute = z.infer<typeof inlineRouteSchema>;

export const routeFileReferenceSchema = z.strictObject({
  file: z.string().min(1, '`file` is the path of a route file (`dnc route calibrate --out FILE`)'),
});

/** Told apart by its keys (`file` or not), so that an error names what is wrong in the shape meant. */
export const routeSchema = z.unknown().transform((value, context): InlineRoute | RouteFileReference => {
  const isFile = typeof value === 'object' && value !== null && 'file' in value;
  const parsed = (isFile ? routeFileReferenceSchema : inlineRouteSchema).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) context.addIssue({ ...issue, code: 'custom', path: issue.path });
  return z.NEVER;
});
export type RouteFileReference = z.infer<typeof routeFileReferenceSchema>;
export type Route = InlineRoute | RouteFileReference;

/** Default agreement samples for a route. */
export function routeSamples(route: InlineRoute): number {
  return route.samples ?? (route.by === 'agreement' || route.scorer?.features.includes('agreement') ? 5 : 0);
}
