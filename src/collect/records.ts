/** Journal records from teacher results and failures. */
import type { DecompositionRecord, Example, SolutionRecord } from '../data/schemas.js';
import { promptHash } from '../prompts/index.js';
import type { DecomposeResult, SolveResult, TeacherCallResult } from '../teacher/types.js';
import type { Step } from './collection-state.js';

type DecomposeStep = Extract<Step, { kind: 'decompose' }>;
type SolveStep = Extract<Step, { kind: 'solve' }>;

function common(result: TeacherCallResult, attempt: number, extra: { batchId?: string }) {
  return {
    raw: result.raw,
    usage: result.usage,
    costUsd: result.costUsd,
    latencyMs: Math.round(result.latencyMs * 1000) / 1000,
    status: result.status,
    ...(result.error === undefined ? {} : { error: result.error }),
    attempt,
    finishReason: result.rawFinishReason ?? result.finishReason,
    ...(result.warnings.length === 0 ? {} : { warnings: result.warnings }),
    createdAt: new Date().toISOString(),
    ...(result.savedUsd > 0 ? { savedUsd: result.savedUsd } : {}),
    ...(result.simulated ? { simulated: true } : {}),
    ...(extra.batchId === undefined ? {} : { batchId: extra.batchId }),
  };
}

export function decompositionRecord(
  step: DecomposeStep,
  teacher: string,
  result: DecomposeResult,
  extra: { batchId?: string } = {},
): DecompositionRecord {
  return {
    key: step.key,
    exampleId: step.example.id,
    teacher,
    promptHash: promptHash('decompose'),
    subquestions: result.status === 'ok' ? result.subquestions : [],
    ...common(result, step.attempt, extra),
    sample: step.sample,
  };
}

export function solutionRecord(
  step: SolveStep,
  teacher: string,
  result: SolveResult,
  score: (prediction: string, example: Example) => { correct: boolean; score: number },
  extra: { batchId?: string } = {},
): SolutionRecord {
  const scored =
    result.status === 'ok' && result.answer !== undefined ? score(result.answer, step.example) : undefined;
  return {
    key: step.key,
    decompositionKey: step.decomposition.key,
    exampleId: step.example.id,
    teacher,
    promptHash: promptHash('solve'),
    subquestions: step.decomposition.subquestions,
    subanswers: result.subanswers,
    ...(result.answer === undefined ? {} : { answer: result.answer }),
    ...(scored === undefined ? {} : { correct: scored.correct, score: scored.score }),
    ...common(result, step.attempt, extra),
  };
}

function failure(error: unknown) {
  return {
    raw: '',
    usage: { inputTokens: 0, outputTokens: 0 },
    costUsd: 0,
    latencyMs: 0,
    status: 'error' as const,
    error: error instanceof Error ? error.message : String(error),
    createdAt: new Date().toISOString(),
  };
}

export function decompositionFailure(
  step: DecomposeStep,
  teacher: string,
  error: unknown,
  extra: { batchId?: string } = {},
): DecompositionRecord {
  return {
    key: step.key,
    exampleId: step.example.id,
    teacher,
    promptHash: promptHash('decompose'),
    subquestions: [],
    ...failure(error),
    attempt: step.attempt,
    sample: step.sample,
    ...(extra.batchId === undefined ? {} : { batchId: extra.batchId }),
  };
}

export function solutionFailure(
  step: SolveStep,
  teacher: string,
  error: unknown,
  extra: { batchId?: string } = {},
): SolutionRecord {
  return {
    key: step.key,
    decompositionKey: step.decomposition.key,
    exampleId: step.example.id,
    teacher,
    promptHash: promptHash('solve'),
    subquestions: step.decomposition.subquestions,
    subanswers: [],
    ...failure(error),
    attempt: step.attempt,
    ...(extra.batchId === undefined ? {} : { batchId: extra.batchId }),
  };
}
