/**
 * The wire format of an OpenAI-compatible chat completion: request bodies for the decompose
 * and solve prompts (with or without a JSON-schema response format), the zod schema of the
 * response envelope, and how a response's content becomes sub-questions or a solution.
 * Shared by the synchronous adapter and the Batch API path, so both give the same records.
 */
import { z } from 'zod';
import type { ChatMessage, Example } from '../data/schemas.js';
import { formatZodError } from '../data/zod-format.js';
import {
  parseSolution,
  parseSubquestions,
  renderDecomposePrompt,
  renderSolvePrompt,
} from '../prompts/index.js';
import type { FinishReason } from './types.js';

export interface DecodingSettings {
  temperature: number;
  maxOutputTokens: number;
}

export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  temperature: number;
  max_tokens: number;
  response_format?: {
    type: 'json_schema';
    json_schema: { name: string; strict: boolean; schema: Record<string, unknown> };
  };
}

const decompositionJsonSchema = {
  type: 'object',
  properties: { subquestions: { type: 'array', items: { type: 'string' } } },
  required: ['subquestions'],
  additionalProperties: false,
};

const solutionJsonSchema = {
  type: 'object',
  properties: { subanswers: { type: 'array', items: { type: 'string' } }, answer: { type: 'string' } },
  required: ['subanswers', 'answer'],
  additionalProperties: false,
};

export function buildDecomposeBody(
  model: string,
  example: Example,
  maxSubquestions: number,
  decoding: DecodingSettings,
  structured: boolean,
): ChatRequestBody {
  const messages = renderDecomposePrompt({
    question: example.question,
    context: example.context,
    maxSubquestions,
  });
  return {
    model,
    messages,
    temperature: decoding.temperature,
    max_tokens: decoding.maxOutputTokens,
    ...(structured
      ? {
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'decomposition', strict: true, schema: decompositionJsonSchema },
          },
        }
      : {}),
  };
}

export function buildSolveBody(
  model: string,
  example: Example,
  subquestions: readonly string[],
  decoding: DecodingSettings,
  structured: boolean,
): ChatRequestBody {
  const messages = renderSolvePrompt({ question: example.question, context: example.context, subquestions });
  return {
    model,
    messages,
    temperature: decoding.temperature,
    max_tokens: decoding.maxOutputTokens,
    ...(structured
      ? {
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'solution', strict: true, schema: solutionJsonSchema },
          },
        }
      : {}),
  };
}

/** The part of a chat completion dnc reads; other fields are allowed and ignored. */
export const chatCompletionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullable().optional(),
          refusal: z.string().nullable().optional(),
        }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1, 'a chat completion needs at least one choice'),
  usage: z
    .object({
      prompt_tokens: z.number().int().nonnegative(),
      completion_tokens: z.number().int().nonnegative(),
    })
    .nullable()
    .optional(),
});
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;

/** Validates a parsed response body; returns the problem as text when it is not a chat completion. */
export function validateCompletion(value: unknown): { completion: ChatCompletion } | { problem: string } {
  const result = chatCompletionSchema.safeParse(value);
  return result.success ? { completion: result.data } : { problem: formatZodError(result.error) };
}

export function normalizeFinishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case 'stop':
    case 'eos':
      return 'stop';
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    case 'error':
      return 'error';
    default:
      return 'other';
  }
}

export interface Interpretation<T> {
  status: 'ok' | 'invalid';
  error?: string;
  value: T;
  warnings: string[];
}

function finishProblem(finishReason: FinishReason, refusal: string | null | undefined): string | undefined {
  if (refusal) return `the teacher refused: ${refusal}`;
  if (finishReason === 'length') return 'the output was cut off at the token limit (raise max output tokens)';
  if (finishReason === 'content-filter') return 'the output was stopped by the content filter';
  return undefined;
}

const structuredDecompositionSchema = z.strictObject({
  subquestions: z.array(z.string().trim().min(1, 'a sub-question is empty')),
});

export function interpretDecomposition(
  content: string,
  finishReason: FinishReason,
  refusal: string | null | undefined,
  structured: boolean,
  maxSubquestions: number,
): Interpretation<string[]> {
  const problem = finishProblem(finishReason, refusal);
  if (problem !== undefined) return { status: 'invalid', error: problem, value: [], warnings: [] };
  if (structured) {
    let json: unknown;
    try {
      json = JSON.parse(content);
    } catch {
      return { status: 'invalid', error: 'structured output is not valid JSON', value: [], warnings: [] };
    }
    const result = structuredDecompositionSchema.safeParse(json);
    if (!result.success) {
      return {
        status: 'invalid',
        error: `structured output does not match the schema: ${formatZodError(result.error)}`,
        value: [],
        warnings: [],
      };
    }
    const subquestions = result.data.subquestions.map((item) => item.trim());
    if (subquestions.length > maxSubquestions) {
      return {
        status: 'invalid',
        error: `${subquestions.length} sub-questions, more than the maximum ${maxSubquestions}`,
        value: [],
        warnings: [],
      };
    }
    return { status: 'ok', value: subquestions, warnings: [] };
  }
  const parsed = parseSubquestions(content, maxSubquestions);
  if (parsed.kind === 'unparseable') {
    return {
      status: 'invalid',
      error: 'no numbered sub-questions and no "No decomposition."',
      value: [],
      warnings: parsed.warnings,
    };
  }
  if (parsed.truncated) {
    return {
      status: 'invalid',
      error: `more sub-questions than the maximum ${maxSubquestions}`,
      value: [],
      warnings: parsed.warnings,
    };
  }
  return { status: 'ok', value: parsed.subquestions, warnings: parsed.warnings };
}

const structuredSolutionSchema = z.strictObject({
  subanswers: z.array(z.string()),
  answer: z.string().trim().min(1, 'the final answer is empty'),
});

export interface SolutionValue {
  subanswers: string[];
  answer: string | undefined;
}

export function interpretSolution(
  content: string,
  finishReason: FinishReason,
  refusal: string | null | undefined,
  structured: boolean,
  count: number,
): Interpretation<SolutionValue> {
  const empty = { subanswers: [], answer: undefined };
  const problem = finishProblem(finishReason, refusal);
  if (problem !== undefined) return { status: 'invalid', error: problem, value: empty, warnings: [] };
  if (structured) {
    let json: unknown;
    try {
      json = JSON.parse(content);
    } catch {
      return { status: 'invalid', error: 'structured output is not valid JSON', value: empty, warnings: [] };
    }
    const result = structuredSolutionSchema.safeParse(json);
    if (!result.success) {
      return {
        status: 'invalid',
        error: `structured output does not match the schema: ${formatZodError(result.error)}`,
        value: empty,
        warnings: [],
      };
    }
    const warnings =
      result.data.subanswers.length === count
        ? []
        : [`expected ${count} sub-answers, found ${result.data.subanswers.length}`];
    return {
      status: 'ok',
      value: { subanswers: result.data.subanswers, answer: result.data.answer.trim() },
      warnings,
    };
  }
  const parsed = parseSolution(content, count);
  if (parsed.answer === undefined || parsed.answer === '') {
    return {
      status: 'invalid',
      error: 'no final answer ("The answer is: ...")',
      value: empty,
      warnings: parsed.warnings,
    };
  }
  return {
    status: 'ok',
    value: { subanswers: parsed.subanswers, answer: parsed.answer },
    warnings: parsed.warnings,
  };
}
