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

/** The greedy completions of the rows, in one generation (after their shared prompt prefix, cached). */
async function completeRows(brick: OnnxBrick, rows: readonly Row[]): Promise<Completion[]> {
  const meter = new CallMeter();
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
  return results.map((result, index) => {
    const report = generationReport({
      results: [result],
      times: { latencyMs, cpuMs: (cpuMs * tokensOf(result)) / Math.max(1, allTokens) },
      parameters: brick.manifest.parameters,
      costOf: (rowCpuMs) => brick.costOf(rowCpuMs),
      warnings: rows[index]!.warnings,
    });
    return {
      text: result.text ?? '',
      tokens: result.tokens,
      report,
      confidence: tokenLogProbabilities(result),
    };
  });
}

/**
 * Runs the calls as one batch; each settles on its own (a call cancelled before or during the batch
 * rejects, the others resolve with what running them alone gives).
 */
export async function runBatch(
  brick: OnnxBrick,
  method: BatchMethod,
  inputs: readonly BatchInput[],
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
  const completions = await completeRows(brick, rows);
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
