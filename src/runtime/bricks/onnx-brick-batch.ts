/**
 * Several calls of one ONNX brick method (a server's concurrent requests) as ONE greedy generation:
 * the prompts prefill together and decode as one batch, rows leaving it as they finish. Each call
 * keeps what is its own: its token budget (`maxNewTokens`), its copy processors (per-row parts) and
 * its cancellation — an aborted call's row stops at the next step and leaves the batch while the
 * others go on, and the call rejects with its signal's reason.
 *
 * What is batched: the greedy pass of every method (decompose, nextSubquestion, solve). What stays
 * per call: the decomposer's later stages (the fault check's resampling, agreement samples), which
 * run after the batch for the calls that need them, one call at a time.
 *
 * Each call's report counts its own tokens, FLOPs and finish reason; latency is the batch's (what the
 * caller waited), and the batch's CPU time is shared among the calls by their tokens.
 */
import type { ChatMessage } from '../../data/schemas.js';
import { generate, type GenerationResult } from '../generation/generate.js';
import { JoinableGeneration } from '../generation/joinable-generation.js';
import type { OnnxCache } from '../onnx/onnx-decoder.js';
import { PerRowLimitCriterion, PerRowProcessors } from '../generation/per-row.js';
import type { DecomposeInput, NextSubquestionInput, SolveInput } from './brick.js';
import type { Completion, OnnxBrick } from './onnx-brick.js';
import { brickPromptPrefixes } from './onnx-brick-prefix.js';
import { CallMeter, generationReport } from './onnx-brick-cost.js';
import { abortReason } from '../abort-reason.js';

export type BatchMethod = 'decompose' | 'nextSubquestion' | 'solve';

/** One call's input: what its method takes, with its own cancellation and budget. */
export type BatchInput = DecomposeInput | NextSubquestionInput | SolveInput;

interface Row {
  /** Position of the call in the caller's list. */
  call: number;
  messages: ChatMessage[];
  prompt: number[];
  budget: number;
  warnings: string[];
  signal?: AbortSignal;
}

/** A generation's confidence signals: mean and lowest token log-probability, and its length. */
export function tokenLogProbabilities(result: GenerationResult) {
  return {
    meanLogProbability: result.logProbability / Math.max(1, result.generatedTokenCount),
    minLogProbability: result.minTokenLogProbability,
    tokens: result.generatedTokenCount,
  };
}

export interface BatchOptions {
  /**
   * Continuous batching: the rows join a greedy generation of this brick already running in this
   * thread (at its next step), as long as it holds fewer than `maxRows` rows; else they start one.
   */
  joinRunning?: { maxRows: number };
}

/** The brick's greedy pass as one call's completion, its report from the row's result and times. */
function completionOf(
  brick: OnnxBrick,
  result: GenerationResult,
  times: { latencyMs: number; cpuMs: number },
  warnings: string[],
): Completion {
  const report = generationReport({
    results: [result],
    times,
    parameters: brick.manifest.parameters,
    costOf: (rowCpuMs) => brick.costOf(rowCpuMs),
    warnings,
  });
  return {
    text: result.text ?? '',
    tokens: result.tokens,
    report,
    confidence: tokenLogProbabilities(result),
  };
}

/** Greedy generations of each brick running in this thread that rows may still join. */
const runningGenerations = new WeakMap<OnnxBrick, JoinableGeneration<OnnxCache>[]>();

/** A running generation of the brick with room for `count` rows, or a new one. */
function generationToJoin(brick: OnnxBrick, count: number, maxRows: number): JoinableGeneration<OnnxCache> {
  const running = (runningGenerations.get(brick) ?? []).filter((generation) => !generation.ended);
  let generation = running.find((candidate) => candidate.accepts(count));
  if (generation === undefined) {
    generation = new JoinableGeneration(brick.decoder, {
      generation: {
        doSample: false,
        // Every row stops at its own budget (PerRowLimitCriterion); this only bounds the generation.
        maxNewTokens: Number.MAX_SAFE_INTEGER,
        decode: (tokens) => brick.tokenizer.decode(tokens, { skipSpecialTokens: true }),
      },
      maxRows,
      // A full batch more may wait inside, to join the moment rows leave.
      maxWaiting: Math.max(maxRows, count),
      cpuClock: brick.cpuClock,
    });
    running.push(generation);
  }
  runningGenerations.set(brick, running);
  return generation;
}

/**
 * The greedy completions of the rows, joining a running generation of the brick: each row's
 * completion comes when it finishes; its latency is its own wait, its CPU time its share of the
 * forwards it was in.
 */
async function joinRows(brick: OnnxBrick, rows: readonly Row[], maxRows: number): Promise<Completion[]> {
  const started = performance.now();
  const prefix = await brickPromptPrefixes(brick).sharedPrefix(rows);
  // Found and joined in one synchronous turn, so the generation cannot end in between.
  const joined = generationToJoin(brick, rows.length, maxRows).join(
    rows.map((row) => ({
      prompt: row.prompt,
      maxNewTokens: row.budget,
      processors: brick.recipeProcessors(),
      ...(row.signal === undefined ? {} : { signal: row.signal }),
    })),
    prefix,
  );
  return Promise.all(
    joined.map(async (pending, index) => {
      const result = await pending;
      const times = { latencyMs: performance.now() - started, cpuMs: result.cpuMs };
      return completionOf(brick, result, times, rows[index]!.warnings);
    }),
  );
}

/** The greedy completions of the rows, in one generation (after their shared prompt prefix, cached). */
async function completeRows(brick: OnnxBrick, rows: readonly Row[]): Promise<Completion[]> {
  const meter = new CallMeter(brick.cpuClock);
  const prefix = await brickPromptPrefixes(brick).sharedPrefix(rows);
  const results = await generate(
    brick.decoder,
    rows.map((row) => row.prompt),
    {
      maxNewTokens: Math.max(...rows.map((row) => row.budget)),
      doSample: false,
      logitsProcessors: [new PerRowProcessors(rows.map(() => brick.recipeProcessors()))],
      stoppingCriteria: [
        new PerRowLimitCriterion(rows.map((row) => ({ maxNewTokens: row.budget, signal: row.signal }))),
      ],
      decode: (tokens) => brick.tokenizer.decode(tokens, { skipSpecialTokens: true }),
      prefix,
    },
  );
  const { latencyMs, cpuMs } = meter.elapsed();
  const tokensOf = (result: GenerationResult) => result.promptTokenCount + result.generatedTokenCount;
  const allTokens = results.reduce((sum, result) => sum + tokensOf(result), 0);
  return results.map((result, index) =>
    completionOf(
      brick,
      result,
      { latencyMs, cpuMs: (cpuMs * tokensOf(result)) / Math.max(1, allTokens) },
      rows[index]!.warnings,
    ),
  );
}

/**
 * Runs the calls as one batch; each settles on its own (a call cancelled before or during the batch
 * rejects, the others resolve with what running them alone gives).
 */
export async function runBatch(
  brick: OnnxBrick,
  method: BatchMethod,
  inputs: readonly BatchInput[],
  options: BatchOptions = {},
): Promise<PromiseSettledResult<unknown>[]> {
  const settled: PromiseSettledResult<unknown>[] = inputs.map(() => ({
    status: 'rejected',
    reason: new Error('the call was not run'),
  }));
  const rows: Row[] = [];
  inputs.forEach((input, call) => {
    if (input.signal?.aborted === true) {
      settled[call] = { status: 'rejected', reason: abortReason(input.signal) };
      return;
    }
    try {
      const messages = brick.messagesFor(method, input);
      const prompt = brick.promptTokens(messages);
      rows.push({
        call,
        messages,
        prompt,
        ...brick.budgetFor(prompt.length, input.maxNewTokens),
        signal: input.signal,
      });
    } catch (error) {
      settled[call] = { status: 'rejected', reason: error };
    }
  });
  if (rows.length === 0) return settled;
  const completions =
    options.joinRunning === undefined
      ? await completeRows(brick, rows)
      : await joinRows(brick, rows, options.joinRunning.maxRows);
  for (const [index, row] of rows.entries()) {
    const input = inputs[row.call]!;
    if (input.signal?.aborted === true) {
      settled[row.call] = { status: 'rejected', reason: abortReason(input.signal) };
      continue;
    }
    try {
      // The method's later stages (the fault check's samples) run for this call alone.
      settled[row.call] = {
        status: 'fulfilled',
        value: await brick.finishWith(method, input, completions[index]!),
      };
    } catch (error) {
      settled[row.call] = { status: 'rejected', reason: error };
    }
  }
  return settled;
}
