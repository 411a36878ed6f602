/**
 * OpenAI chat-completion shapes for a chain's result: the whole completion (non-streaming),
 * the `chat.completion.chunk`s of a stream, and the text lines a stream shows for each step
 * as it completes. Usage sums every brick call's tokens; the `dnc` field carries the
 * sub-questions, sub-answers, failure class and the cost per brick.
 */
import { randomUUID } from 'node:crypto';
import { decomposerLabel, type Chain } from '../data/schemas.js';
import type { ChainStep, ChainTrace } from '../runtime/chain-trace.js';
import type { CostSummary } from '../runtime/cost-meter.js';

export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

export function newCompletionIdentity(model: string): CompletionIdentity {
  return { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model };
}

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(cost: CostSummary): CompletionUsage {
  const { inputTokens, outputTokens } = cost.total;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
  };
}

export interface DncSummary {
  chain: string;
  mode: Chain['mode'];
  decomposer: string | null;
  solver: string;
  subquestions: string[];
  subanswers: string[];
  failure: ChainTrace['failure'];
  reason?: string;
  warnings: string[];
  /** Per brick: calls, tokens, latency, dollars spent and saved (`simulated` for the reference expert). */
  cost: { byBrick: CostSummary['byBrick']; byStage: CostSummary['byStage']; total: CostSummary['total'] };
  latencyMs: number;
}

export function dncSummary(chain: Chain, trace: ChainTrace): DncSummary {
  const summary: DncSummary = {
    chain: chain.name,
    mode: chain.mode,
    decomposer: trace.cascade?.decidedBy ?? decomposerLabel(chain),
    solver: chain.solver,
    subquestions: trace.subquestions,
    subanswers: trace.subanswers,
    failure: trace.failure,
    warnings: trace.warnings,
    cost: { byBrick: trace.cost.byBrick, byStage: trace.cost.byStage, total: trace.cost.total },
    latencyMs: trace.latencyMs,
  };
  const reason = trace.unanswerable?.reason ?? trace.error;
  if (reason !== undefined) summary.reason = reason;
  return summary;
}

/** The assistant message: the final answer, or an honest line saying why there is none. */
export function finalContent(trace: ChainTrace): string {
  if (trace.answer !== undefined) return trace.answer;
  const reason = trace.unanswerable?.reason ?? trace.error;
  return `No answer (${trace.failure}${reason === undefined ? '' : `: ${reason}`}).`;
}

export function chatCompletionBody(identity: CompletionIdentity, chain: Chain, trace: ChainTrace) {
  return {
    ...identity,
    object: 'chat.completion' as const,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: finalContent(trace), refusal: null },
        logprobs: null,
        finish_reason: 'stop' as const,
      },
    ],
    usage: usageOf(trace.cost),
    dnc: dncSummary(chain, trace),
  };
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string;
}

export function completionChunk(
  identity: CompletionIdentity,
  delta: ChunkDelta,
  finishReason: 'stop' | null,
  extra: Record<string, unknown> = {},
) {
  return {
    ...identity,
    object: 'chat.completion.chunk' as const,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...extra,
  };
}

/** The text a stream shows when a step completes (empty for a step with nothing to show). */
export function stepText(step: ChainStep): string {
  if (step.stage === 'decompose') {
    if (step.subquestions !== undefined)
      return step.subquestions.length === 0
        ? 'No decomposition: solving the question directly.\n'
        : `Sub-questions:\n${step.subquestions.map((text, index) => `${index + 1}. ${text}`).join('\n')}\n`;
    return step.subquestion === undefined ? '' : `Next sub-question: ${step.subquestion}\n`;
  }
  if (step.subanswers !== undefined && step.subquestions !== undefined)
    return step.subanswers.map((answer, index) => `${step.subquestions?.[index]} → ${answer}\n`).join('');
  if (step.subquestion !== undefined) return `${step.subquestion} → ${step.answer ?? '(no answer)'}\n`;
  return '';
}

/** The last content delta of a stream: the final answer in the solve prompts' convention. */
export function finalStreamText(trace: ChainTrace): string {
  return `The answer is: ${finalContent(trace)}`;
}
