/** The call report of a teacher that sends no request (gold, replay, reference). */
import type { Usage } from '../data/schemas.js';
import type { TeacherCallResult } from './types.js';

export function localResult(
  raw: string,
  startedAt: number,
  extra: Partial<
    Pick<TeacherCallResult, 'status' | 'error' | 'costUsd' | 'savedUsd' | 'simulated' | 'warnings'>
  > & {
    usage?: Usage;
  } = {},
): TeacherCallResult {
  return {
    status: extra.status ?? 'ok',
    ...(extra.error === undefined ? {} : { error: extra.error }),
    raw,
    usage: extra.usage ?? { inputTokens: 0, outputTokens: 0 },
    costUsd: extra.costUsd ?? 0,
    savedUsd: extra.savedUsd ?? 0,
    latencyMs: performance.now() - startedAt,
    finishReason: 'stop',
    rawFinishReason: undefined,
    warnings: extra.warnings ?? [],
    requests: 0,
    simulated: extra.simulated ?? false,
  };
}
