/** Journal records from teacher results and failures. */
import type { DecompositionRecord, Example, SolutionRecord } from '../data/schemas.js';
import { promptHash } from '../prompts/index.js';
import type { DecomposeResult, SolveResult, TeacherCallResult } from '../teacher/types.js';
import type { Step } from './collection-state.js';

type DecomposeStep = Extract<Step, { kind: 'decompose' }>;
type SolveStep = Extract<Step, { kind: 'solve' }>;

const batchField = (extra: { batchId?: string }) =>
  extra.batchId === undefined ? {} : { batchId: extra.batchId };

/** The fields that name a decomposition record: its key, example, teacher and prompt template. */
function decompositionIdentity(step: DecomposeStep, teacher: string) {
  return { key: step.key, exampleId: step.example.id, teacher, promptHash: promptHash('decompose') };
}

/** The fields that name a solution record, with the decomposition it solved from. */
function solutionIdentity(step: SolveStep, teacher: string) {
  return {
    key: step.key,
    decompositionKey: step.decomposition.key,
    exampleId: step.example.id,
    teacher,
    promptHash: promptHash('solve'),
    subquestions: step.decomposition.subquestions,
  };
}

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
    ...batchField(extra),
  };
}

export function decompositionRecord(
  step: DecomposeStep,
  teacher: string,
  result: DecomposeResult,
  extra: { batchId?: string } = {},
): DecompositionRecord {
  return {
    ...decompositionIdentity(step, teacher),
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
    ...solutionIdentity(step, teacher),
    subanswers: result.subanswers,
    ...(result.answer === undefined ? {} : { answer: result.answer }),
    ...(scored === undefined ? {} : { correct: scored.correct, score: scored.score }),
    ...common(result, step.attempt, extra),
  };
}

/** A request that failed after its retries: nothing paid, the reason kept, asked again next run. */
function failure(error: unknown, attempt: number, extra: { batchId?: string }) {
  return {
    raw: '',
    usage: { inputTokens: 0, outputTokens: 0 },
    costUsd: 0,
    latencyMs: 0,
    status: 'error' as const,
    error: error instanceof Error ? error.message : String(error),
    createdAt: new Date().toISOString(),
    attempt,
    ...batchField(extra),
  };
}

export function decompositionFailure(
  step: DecomposeStep,
  teacher: string,
  error: unknown,
  extra: { batchId?: string } = {},
): DecompositionRecord {
  return {
    ...decompositionIdentity(step, teacher),
    subquestions: [],
    ...failure(error, step.attempt, extra),
    sample: step.sample,
  };
}

export function solutionFailure(
  step: SolveStep,
  teacher: string,
  error: unknown,
  extra: { batchId?: string } = {},
): SolutionRecord {
  return { ...solutionIdentity(step, teacher), subanswers: [], ...failure(error, step.attempt, extra) };
}
