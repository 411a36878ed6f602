/**
 * The generation loop: ONE loop of small parts. Each step runs the model on the new tokens,
 * then for every unfinished row: processors → sampler → append → stopping criteria.
 * Several prompts run together: left-padded to a common length with an attention mask that
 * grows with the cache. When the model can select cache rows (`selectRows`), a finished row
 * leaves the batch and identical prompts are prefilled once; otherwise a finished row is fed
 * padding with mask 0 until every row is done. Given a cached prefix that every prompt starts with
 * (`options.prefix`, from a PrefixCache: a brick's fixed system prompt and chat template), the first
 * step feeds only what follows it.
 */
import {
  HeldCache,
  lastPositionLogits,
  validateDecoderBatch,
  type DecoderBatch,
  type DecoderModel,
} from './decoder-model.js';
import {
  buildGenerationParts,
  type GenerationOptions,
  type GenerationParts,
  type PromptPrefix,
} from './generation-options.js';
import type { FinishReason, StopDecision } from './stopping-criteria.js';

export interface GenerationResult {
  /** Generated token ids, without the end-of-sequence token that ended the row. */
  tokens: number[];
  /** Tokens the model produced, the final end-of-sequence token included (what usage counts). */
  generatedTokenCount: number;
  promptTokenCount: number;
  finishReason: FinishReason;
  stopString?: string;
  /** The decoded completion, cut before the stop string; present when `decode` was given. */
  text?: string;
  /**
   * Sum of the log-probabilities of the generated tokens (end token included) under the
   * distribution each was chosen from: the logits after every processor (temperature, copy bias,
   * constraints). Candidates drawn with the same settings can be ranked by it.
   */
  logProbability: number;
  /** The lowest log-probability of one generated token (0 when none was generated). */
  minTokenLogProbability: number;
}

/** One prompt's state in a generation (exported for joinable-generation.ts). */
export interface Row {
  /** Index of the row's prompt in the caller's list. */
  index: number;
  prompt: readonly number[];
  /** Prompt and generated tokens (no padding). */
  tokens: number[];
  generated: number[];
  logProbability: number;
  minTokenLogProbability: number;
  /** Mask of every position fed so far, padding included. */
  mask: number[];
  stop: StopDecision | null;
}

export async function generate<Cache>(
  model: DecoderModel<Cache>,
  prompts: readonly (readonly number[])[],
  options: GenerationOptions = {},
): Promise<GenerationResult[]> {
  validatePrompts(prompts, model.vocabSize);
  const parts = buildGenerationParts(options, model);
  const rows: Row[] = prompts.map((prompt, index) => ({
    index,
    prompt,
    tokens: [...prompt],
    generated: [],
    logProbability: 0,
    minTokenLogProbability: 0,
    mask: [],
    stop: null,
  }));
  const cache = new HeldCache(model);
  try {
    // Rows in the batch, in batch order. With `selectRows`, a row that finishes leaves the batch
    // (its cache rows are dropped) and identical prompts are prefilled once, then copied.
    let live = await prefill(model, rows, parts, options, cache);
    while (true) {
      const running = live.filter((row) => row.stop === null);
      if (running.length === 0) break;
      if (running.length < live.length && model.selectRows !== undefined) {
        cache.hold(
          model.selectRows(
            cache.current!,
            running.map((row) => live.indexOf(row)),
          ),
        );
        live = running;
      }
      options.signal?.throwIfAborted();
      const pastLength = live[0]!.mask.length;
      const batch = stepBatch(live, parts.padTokenId, pastLength);
      validateDecoderBatch(batch);
      const output = await model.forward(batch, cache.current);
      cache.hold(output.cache);
      const logits = lastPositionLogits(output.logits, live.length, batch.length, model.vocabSize);
      live.forEach((row, position) => {
        if (row.stop === null) advanceRow(row, logits[position], parts, options);
      });
    }
  } finally {
    cache.hold(undefined);
  }
  return rows.map((row) => toResult(row, options.decode));
}

/**
 * The first step: the prompts in one left-padded batch, each distinct prompt once when the model can
 * copy cache rows (the fault check samples one prompt 8 times: one prefill, 8 rows after it).
 * Returns the rows of the batch the next step runs.
 */
export async function prefill<Cache>(
  model: DecoderModel<Cache>,
  rows: Row[],
  parts: GenerationParts,
  options: GenerationOptions,
  cache: HeldCache<Cache>,
): Promise<Row[]> {
  const firstOf = new Map<string, Row>();
  const source = rows.map((row) => {
    const key = row.prompt.join(',');
    if (model.selectRows === undefined) return row;
    const first = firstOf.get(key) ?? row;
    firstOf.set(key, first);
    return first;
  });
  const distinct = rows.filter((row, index) => source[index] === row);
  options.signal?.throwIfAborted();
  const prefix = usablePrefix(model, distinct, options.prefix);
  const batch = promptBatch(distinct, parts.padTokenId, prefix?.tokens.length ?? 0);
  validateDecoderBatch(batch);
  // The shared prefix's cache (batch 1, owned by its PrefixCache) copied to every row; the loop owns the copy.
  const past =
    prefix === undefined
      ? undefined
      : model.selectRows!(
          prefix.cache as Cache,
          distinct.map(() => 0),
        );
  if (past !== undefined) cache.hold(past);
  const output = await model.forward(batch, past);
  cache.hold(output.cache);
  const logits = lastPositionLogits(output.logits, distinct.length, batch.length, model.vocabSize);
  if (distinct.length < rows.length)
    cache.hold(
      model.selectRows!(
        output.cache,
        source.map((first) => distinct.indexOf(first)),
      ),
    );
  rows.forEach((row, index) => {
    const first = source[index]!;
    if (first !== row) row.mask = [...first.mask];
    // Processors edit logits in place: each copy of a prompt gets its own.
    const own = logits[distinct.indexOf(first)]!;
    advanceRow(row, first === row ? own : own.slice(), parts, options);
  });
  return rows;
}

export function advanceRow(
  row: Row,
  logits: Float32Array,
  parts: GenerationParts,
  options: GenerationOptions,
): void {
  const context = { tokens: row.tokens, generatedCount: row.generated.length, row: row.index };
  for (const processor of parts.processors) processor.process(logits, context);
  const token = parts.sampler.sample(logits);
  const tokenLogProbability = logProbabilityOf(logits, token);
  row.logProbability += tokenLogProbability;
  row.minTokenLogProbability = Math.min(row.minTokenLogProbability, tokenLogProbability);
  row.tokens.push(token);
  row.generated.push(token);
  options.onToken?.({ row: row.index, token });
  for (const criterion of parts.criteria) {
    row.stop = criterion.check({ generated: row.generated, row: row.index });
    if (row.stop !== null) return;
  }
}

/**
 * Scores more than this far below the best add at most e^-64 ≈ 1.6e-28 each to the softmax's sum
 * (relative to the best token's 1): even a million of them change a log-probability by under 1e-21,
 * so their `Math.exp` is skipped (most of a trained model's vocabulary, every step).
 */
const negligibleScoreGap = 64;

/**
 * log softmax(logits)[token], computed stably (−Infinity for a masked-out token). It runs on every
 * row at every step over the whole vocabulary (49,152 entries at SmolLM2's), so it is written as two
 * plain indexed loops (a `for…of` over a typed array costs several times more per entry).
 */
export function logProbabilityOf(logits: Float32Array, token: number): number {
  const count = logits.length;
  let max = -Infinity;
  for (let index = 0; index < count; index += 1) {
    const value = logits[index];
    if (value > max) max = value;
  }
  const floor = max - negligibleScoreGap;
  let sum = 0;
  for (let index = 0; index < count; index += 1) {
    const value = logits[index];
    if (value > floor) sum += Math.exp(value - max);
  }
  return logits[token] - max - Math.log(sum);
}

/**
 * The prompts' shared prefix when the loop can use it: the model copies cache rows, and every prompt
 * starts with the prefix and goes past it (the last prompt token's logits are needed).
 */
function usablePrefix<Cache>(
  model: DecoderModel<Cache>,
  rows: readonly Row[],
  prefix: PromptPrefix | undefined,
): PromptPrefix | undefined {
  if (prefix === undefined || model.selectRows === undefined || prefix.tokens.length === 0) return undefined;
  const { tokens } = prefix;
  const fits = (prompt: readonly number[]) =>
    prompt.length > tokens.length && tokens.every((token, index) => prompt[index] === token);
  return rows.every((row) => fits(row.prompt)) ? prefix : undefined;
}

/**
 * The first step: every prompt left-padded to the longest, positions counted from the first real
 * token. With a cached prefix of `prefixLength` tokens, only what follows it is fed, left-padded
 * after the prefix (mask 0 there), positions going on from the prefix.
 */
function promptBatch(rows: Row[], padTokenId: number, prefixLength: number): DecoderBatch {
  const length = Math.max(...rows.map((row) => row.prompt.length)) - prefixLength;
  const inputIds = new BigInt64Array(rows.length * length);
  const positionIds = new BigInt64Array(rows.length * length);
  rows.forEach((row, index) => {
    const padding = length - (row.prompt.length - prefixLength);
    for (let column = 0; column < prefixLength; column += 1) row.mask.push(1);
    for (let column = 0; column < length; column += 1) {
      const real = column >= padding;
      inputIds[index * length + column] = BigInt(
        real ? row.prompt[prefixLength + column - padding] : padTokenId,
      );
      positionIds[index * length + column] = BigInt(real ? prefixLength + column - padding : 0);
      row.mask.push(real ? 1 : 0);
    }
  });
  return {
    inputIds,
    positionIds,
    attentionMask: maskOf(rows),
    batchSize: rows.length,
    length,
    pastLength: prefixLength,
  };
}

/** A decode step: the token each row just chose (padding, masked, for finished rows). */
export function stepBatch(rows: Row[], padTokenId: number, pastLength: number): DecoderBatch {
  const inputIds = new BigInt64Array(rows.length);
  const positionIds = new BigInt64Array(rows.length);
  rows.forEach((row, index) => {
    // A finished row (even one that finished on the step just run) needs no more logits.
    const done = row.stop !== null;
    inputIds[index] = BigInt(done ? padTokenId : row.tokens[row.tokens.length - 1]);
    positionIds[index] = BigInt(done ? 0 : row.tokens.length - 1);
    row.mask.push(done ? 0 : 1);
  });
  return {
    inputIds,
    positionIds,
    attentionMask: maskOf(rows),
    batchSize: rows.length,
    length: 1,
    pastLength,
  };
}

/** The rows' masks as one (B, P) int64 array (constants, not a BigInt() conversion per entry). */
function maskOf(rows: Row[]): BigInt64Array {
  const width = rows[0].mask.length;
  const mask = new BigInt64Array(rows.length * width);
  for (let index = 0; index < rows.length; index += 1) {
    const own = rows[index].mask;
    const offset = index * width;
    for (let column = 0; column < width; column += 1) if (own[column] === 1) mask[offset + column] = 1n;
  }
  return mask;
}

export function toResult(row: Row, decode?: (tokens: readonly number[]) => string): GenerationResult {
  const stop = row.stop ?? { reason: 'length' as const };
  const endedByEos = stop.reason === 'eos';
  const tokens = endedByEos ? row.generated.slice(0, -1) : [...row.generated];
  const result: GenerationResult = {
    tokens,
    generatedTokenCount: row.generated.length,
    promptTokenCount: row.prompt.length,
    finishReason: stop.reason,
    logProbability: row.logProbability,
    minTokenLogProbability: row.minTokenLogProbability,
  };
  if (stop.stopString !== undefined) result.stopString = stop.stopString;
  if (decode !== undefined) {
    const text = decode(tokens);
    const cut = stop.stopString === undefined ? -1 : text.indexOf(stop.stopString);
    result.text = cut >= 0 ? text.slice(0, cut) : text;
  }
  return result;
}

export function validatePrompts(prompts: readonly (readonly number[])[], vocabSize: number): void {
  if (prompts.length === 0) throw new Error('generate needs at least one prompt');
  prompts.forEach((prompt, index) => {
    if (prompt.length === 0)
      throw new Error(`prompt ${index} is empty: a decoder needs at least one token to start`);
    const bad = prompt.find((token) => !Number.isInteger(token) || token < 0 || token >= vocabSize);
    if (bad !== undefined)
      throw new Error(`prompt ${index} holds token id ${bad}, outside the vocabulary [0, ${vocabSize})`);
  });
}
