/**
 * The teacher boundary (specification v1): a source of decompositions and of solutions from
 * them. Every result carries usage, dollars, latency, a normalized finish reason plus the raw
 * one, and warnings. An unusable answer is a result with `status: 'invalid'` (it was paid
 * for, so it is recorded); a failed call throws a TeacherError.
 */
import type { Example, Usage } from '../data/schemas.js';

export type FinishReason = 'stop' | 'length' | 'content-filter' | 'error' | 'other';

export interface TeacherCallResult {
  status: 'ok' | 'invalid';
  /** Why the answer is invalid (only with `status: 'invalid'`). */
  error?: string;
  /** The teacher's text as received (for structured output: the JSON string). */
  raw: string;
  usage: Usage;
  /** Dollars spent on this call (0 for replayed answers). */
  costUsd: number;
  /** Dollars this call avoided spending (a replayed answer's original price). */
  savedUsd: number;
  latencyMs: number;
  finishReason: FinishReason;
  rawFinishReason: string | undefined;
  warnings: string[];
  /** HTTP requests sent for this call, retries included (0 for local teachers). */
  requests: number;
  /** True when usage and dollars are estimates for a simulated teacher (the reference expert). */
  simulated: boolean;
}

export interface DecomposeResult extends TeacherCallResult {
  subquestions: string[];
}

export interface SolveResult extends TeacherCallResult {
  subanswers: string[];
  /** The final answer, undefined when the teacher gave none (then `status` is 'invalid'). */
  answer: string | undefined;
}

export interface DecomposeOptions {
  maxSubquestions: number;
  /** 0 for the first sample; 1, 2, ... ask a non-deterministic teacher for another one. */
  sample?: number;
  signal?: AbortSignal;
}

export interface SolveOptions {
  signal?: AbortSignal;
}

export interface Teacher {
  readonly specificationVersion: 'v1';
  /** `openai:gpt-4o-mini`, `reference`, `gold`, `replay:FILE`. */
  readonly id: string;
  /** The model name used in record keys and price lookups. */
  readonly model: string;
  /** True when asking again gives the same answer (a second sample is pointless). */
  readonly deterministic: boolean;
  /** Decoding settings that change answers (temperature, token limit): part of every record key. */
  decodingSettings(options: { sample: number }): Record<string, unknown>;
  decompose(example: Example, options: DecomposeOptions): Promise<DecomposeResult>;
  solve(example: Example, subquestions: readonly string[], options: SolveOptions): Promise<SolveResult>;
}

export const zeroUsage = { inputTokens: 0, outputTokens: 0 } as const;
