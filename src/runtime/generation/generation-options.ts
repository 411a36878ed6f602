/**
 * Generation settings (validated with zod: they come from flags, pipeline files and brick
 * manifests) and the assembly of the loop's parts from them: processors in the Hugging Face
 * order (history rules, then masks, then the sampling warpers), a sampler and the criteria.
 */
import { z } from 'zod';
import { formatZodError } from '../../data/zod-format.js';
import type { LogitsProcessor } from './logits-processors.js';
import {
  MinNewTokensProcessor,
  RepetitionPenaltyProcessor,
  SuppressTokensProcessor,
  TemperatureProcessor,
  TopKProcessor,
  TopPProcessor,
} from './logits-processors.js';
import { GreedySampler, MultinomialSampler, type Sampler } from './samplers.js';
import {
  EosTokenCriterion,
  MaxNewTokensCriterion,
  StopStringsCriterion,
  type StoppingCriterion,
} from './stopping-criteria.js';

const tokenIdSchema = z.number().int().nonnegative();

export const generationSettingsSchema = z.strictObject({
  maxNewTokens: z.number().int().positive().default(256),
  minNewTokens: z.number().int().nonnegative().default(0),
  /** false: greedy (temperature, top-k and top-p are ignored); true: seeded multinomial sampling. */
  doSample: z.boolean().default(false),
  temperature: z.number().positive().default(1),
  topK: z.number().int().positive().optional(),
  topP: z.number().gt(0).lte(1).optional(),
  repetitionPenalty: z.number().positive().optional(),
  suppressTokens: z.array(tokenIdSchema).default([]),
  /** Overrides the model's end-of-sequence ids. */
  eosTokenIds: z.array(tokenIdSchema).optional(),
  padTokenId: tokenIdSchema.optional(),
  stopStrings: z.array(z.string().min(1, 'a stop string cannot be empty')).default([]),
  seed: z.number().int().default(0),
});
export type GenerationSettingsInput = z.input<typeof generationSettingsSchema>;
export type GenerationSettings = z.output<typeof generationSettingsSchema>;

/** Settings plus the parts that cannot be data: callbacks, extra parts, cancellation. */
export interface GenerationOptions extends GenerationSettingsInput {
  /** Token ids → text; required for stop strings, and gives each result its `text`. */
  decode?: (tokens: readonly number[]) => string;
  /** Extra processors, run after the built-in masks and before the sampling warpers. */
  logitsProcessors?: LogitsProcessor[];
  /** Replaces the sampler chosen by `doSample`. */
  sampler?: Sampler;
  /** Extra stopping criteria, checked after the built-in ones. */
  stoppingCriteria?: StoppingCriterion[];
  signal?: AbortSignal;
  /** Called for every token appended to a row (streaming). */
  onToken?: (event: { row: number; token: number }) => void;
  /**
   * A prefix every prompt starts with, already run through the model (prefix-cache.ts): the first
   * step feeds only the tokens after it. Ignored when a prompt does not start with it or the model
   * cannot copy cache rows.
   */
  prefix?: PromptPrefix;
}

/** Tokens and the model's cache after them (batch 1); the cache stays its owner's, never released by the loop. */
export interface PromptPrefix {
  tokens: readonly number[];
  /** The DecoderModel's cache type (this interface is not generic over it). */
  cache: unknown;
}

export interface GenerationParts {
  settings: GenerationSettings;
  processors: LogitsProcessor[];
  sampler: Sampler;
  criteria: StoppingCriterion[];
  eosTokenIds: readonly number[];
  padTokenId: number;
}

export function parseGenerationSettings(options: GenerationOptions): GenerationSettings {
  const {
    decode: _d,
    logitsProcessors: _l,
    sampler: _s,
    stoppingCriteria: _c,
    signal: _g,
    onToken: _o,
    prefix: _p,
    ...data
  } = options;
  const parsed = generationSettingsSchema.safeParse(data);
  if (!parsed.success) throw new Error(`invalid generation settings: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

export function buildGenerationParts(
  options: GenerationOptions,
  model: { eosTokenIds: readonly number[]; padTokenId?: number },
): GenerationParts {
  const settings = parseGenerationSettings(options);
  const eosTokenIds = settings.eosTokenIds ?? model.eosTokenIds;
  const padTokenId = settings.padTokenId ?? model.padTokenId ?? eosTokenIds[0] ?? 0;
  const processors: LogitsProcessor[] = [];
  if (settings.repetitionPenalty !== undefined)
    processors.push(new RepetitionPenaltyProcessor(settings.repetitionPenalty));
  if (settings.suppressTokens.length > 0)
    processors.push(new SuppressTokensProcessor(settings.suppressTokens));
  if (settings.minNewTokens > 0)
    processors.push(new MinNewTokensProcessor(settings.minNewTokens, eosTokenIds));
  processors.push(...(options.logitsProcessors ?? []));
  if (settings.doSample) {
    processors.push(new TemperatureProcessor(settings.temperature));
    if (settings.topK !== undefined) processors.push(new TopKProcessor(settings.topK));
    if (settings.topP !== undefined) processors.push(new TopPProcessor(settings.topP));
  }
  const sampler =
    options.sampler ?? (settings.doSample ? new MultinomialSampler(settings.seed) : new GreedySampler());
  const criteria: StoppingCriterion[] = [new EosTokenCriterion(eosTokenIds)];
  if (settings.stopStrings.length > 0) {
    if (options.decode === undefined)
      throw new Error(
        'stop strings need a `decode` function to read the generated text; pass the tokenizer decode',
      );
    criteria.push(new StopStringsCriterion(settings.stopStrings, options.decode));
  }
  criteria.push(new MaxNewTokensCriterion(settings.maxNewTokens), ...(options.stoppingCriteria ?? []));
  return { settings, processors, sampler, criteria, eosTokenIds, padTokenId };
}
