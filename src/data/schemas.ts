/**
 * The record formats of DESIGN.md ("Formats"), as zod schemas. Every JSONL file dnc reads
 * or writes goes through one of these. Objects are strict: an unknown key is a typo or a
 * format mismatch, and it is reported rather than silently carried along.
 */
import { z } from 'zod';
import { routeSchema } from './route-schema.js';

export const answerTypeSchema = z.enum(['number', 'text', 'boolean']);
export type AnswerType = z.infer<typeof answerTypeSchema>;

export const goldDecompositionSchema = z.strictObject({
  subquestions: z.array(z.string().min(1)),
  subanswers: z.array(z.string()).optional(),
});
export type GoldDecomposition = z.infer<typeof goldDecompositionSchema>;

/** One question with its gold answer (and optional context and gold decomposition). */
export const exampleSchema = z.strictObject({
  id: z.string().min(1),
  dataset: z.string().min(1),
  question: z.string().min(1),
  answer: z.string(),
  answerType: answerTypeSchema,
  context: z.string().optional(),
  gold: goldDecompositionSchema.optional(),
  /** Free-form extras: source fields, world template ids, alternative answers, ... */
  meta: z.record(z.string(), z.unknown()).optional(),
});
export type Example = z.infer<typeof exampleSchema>;

export const usageSchema = z.strictObject({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof usageSchema>;

export const recordStatusSchema = z.enum(['ok', 'invalid', 'error']);
export type RecordStatus = z.infer<typeof recordStatusSchema>;

/**
 * One teacher decomposition (the collect stage's journal line). `key` is the hash of
 * (example, teacher model, prompt template, decoding settings): a key that is already `ok`
 * is never requested again.
 */
export const decompositionRecordSchema = z.strictObject({
  key: z.string().min(1),
  exampleId: z.string().min(1),
  teacher: z.string().min(1),
  promptHash: z.string().min(1),
  subquestions: z.array(z.string()),
  raw: z.string(),
  usage: usageSchema,
  costUsd: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
  status: recordStatusSchema,
  error: z.string().optional(),
  attempt: z.number().int().positive().optional(),
  finishReason: z.string().optional(),
  warnings: z.array(z.string()).optional(),
  createdAt: z.string().optional(),
  /** 0 for the first sample of an example; 1, 2, ... for resamples (part of the key). */
  sample: z.number().int().nonnegative().optional(),
  /** Dollars a replayed answer avoided spending. */
  savedUsd: z.number().nonnegative().optional(),
  /** True when usage and dollars are estimates (the reference expert). */
  simulated: z.boolean().optional(),
  /** The Batch API batch that produced this record. */
  batchId: z.string().optional(),
});
export type DecompositionRecord = z.infer<typeof decompositionRecordSchema>;

/**
 * One teacher solution from one of its decompositions (the collect stage's second journal,
 * used for filtering). `key` hashes the decomposition key, the solve prompt and decoding settings.
 */
export const solutionRecordSchema = z.strictObject({
  key: z.string().min(1),
  decompositionKey: z.string().min(1),
  exampleId: z.string().min(1),
  teacher: z.string().min(1),
  promptHash: z.string().min(1),
  subquestions: z.array(z.string()),
  subanswers: z.array(z.string()),
  answer: z.string().optional(),
  /** Whether `answer` matches the example's gold answer, and the metric's score. */
  correct: z.boolean().optional(),
  score: z.number().optional(),
  raw: z.string(),
  usage: usageSchema,
  costUsd: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
  status: recordStatusSchema,
  error: z.string().optional(),
  attempt: z.number().int().positive().optional(),
  finishReason: z.string().optional(),
  warnings: z.array(z.string()).optional(),
  createdAt: z.string().optional(),
  savedUsd: z.number().nonnegative().optional(),
  simulated: z.boolean().optional(),
  batchId: z.string().optional(),
});
export type SolutionRecord = z.infer<typeof solutionRecordSchema>;

export const chatRoleSchema = z.enum(['system', 'user', 'assistant']);
export type ChatRole = z.infer<typeof chatRoleSchema>;

export const chatMessageSchema = z.strictObject({
  role: chatRoleSchema,
  content: z.string(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** A training example in the OpenAI fine-tuning chat shape. */
export const chatExampleSchema = z.strictObject({
  messages: z
    .array(chatMessageSchema)
    .min(1)
    .refine((messages) => messages.some((message) => message.role === 'assistant'), {
      message: 'a training example needs at least one assistant message (the text to learn)',
    }),
});
export type ChatExample = z.infer<typeof chatExampleSchema>;

/** A brick spec: `reference`, `gold`, `openai:MODEL`, or a path to a brick directory. */
export const brickSpecSchema = z
  .string()
  .min(1, 'a brick spec is `reference`, `gold`, `openai:MODEL` or a brick directory path');
export type BrickSpec = z.infer<typeof brickSpecSchema>;

export const chainModeSchema = z.enum(['static', 'dynamic', 'single']);
export type ChainMode = z.infer<typeof chainModeSchema>;

/**
 * A decomposer → solver chain, as named in eval suites and serve configs. `decomposer` may be a
 * list, cheapest first, with a `route` rule (a cascade: see src/data/route-schema.ts).
 */
export const chainSchema = z
  .strictObject({
    name: z.string().min(1),
    decomposer: z
      .union([
        brickSpecSchema,
        z.array(brickSpecSchema).min(1, 'a cascade needs at least one decomposer (cheapest first)'),
      ])
      .optional(),
    solver: brickSpecSchema,
    mode: chainModeSchema,
    maxSubquestions: z.number().int().positive().optional(),
    route: routeSchema.optional(),
  })
  .refine((chain) => chain.mode === 'single' || chain.decomposer !== undefined, {
    message: 'a `static` or `dynamic` chain needs a `decomposer`; omit it only for mode `single`',
    path: ['decomposer'],
  })
  .refine(
    (chain) => !Array.isArray(chain.decomposer) || chain.decomposer.length < 2 || chain.route !== undefined,
    {
      message:
        'a chain with several decomposers needs a `route` rule: `{ "by": SIGNAL, "threshold": T }` or `{ "file": ROUTE_FILE }`',
      path: ['route'],
    },
  )
  .refine(
    (chain) => chain.route === undefined || (Array.isArray(chain.decomposer) && chain.decomposer.length >= 2),
    {
      message: 'a `route` rule needs a list of two or more decomposers (cheapest first)',
      path: ['route'],
    },
  )
  .refine(
    (chain) => !Array.isArray(chain.decomposer) || chain.decomposer.length < 2 || chain.mode === 'static',
    {
      message: 'a cascade (several decomposers) runs in mode `static` only',
      path: ['mode'],
    },
  );
export type Chain = z.infer<typeof chainSchema>;

/** The decomposer specs of a chain, cheapest first (empty for `single`). */
export function chainDecomposers(chain: Pick<Chain, 'mode' | 'decomposer'>): string[] {
  if (chain.mode === 'single' || chain.decomposer === undefined) return [];
  return Array.isArray(chain.decomposer) ? [...chain.decomposer] : [chain.decomposer];
}

/** How a report names a chain's decomposer: the spec, or the cascade's specs joined by ` → `. */
export function decomposerLabel(chain: Pick<Chain, 'mode' | 'decomposer'>): string | null {
  const specs = chainDecomposers(chain);
  return specs.length === 0 ? null : specs.join(' → ');
}
