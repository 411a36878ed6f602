/**
 * The retry policy: exponential backoff with full jitter, honouring the server's
 * `retry-after-ms` / `retry-after` (seconds or an HTTP date) when it asks for a wait.
 * Hand-written rather than taken from a library so that the policy is small, injectable
 * (clock, randomness) and tested exactly.
 */
import { TeacherAbortError, TeacherError, TeacherRetryError } from './errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt (0: one attempt only). */
  maxRetries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  backoffFactor: number;
  /** A server-requested wait longer than this is not honoured; backoff is used instead. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 4,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  backoffFactor: 2,
  maxRetryAfterMs: 60_000,
};

/** Full jitter: a uniform wait in [0, min(maxDelay, initial × factor^retryIndex)). */
export function backoffDelayMs(
  retryIndex: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoffFactor ** retryIndex);
  return Math.floor(random() * ceiling);
}

type HeaderSource = Headers | Record<string, string | string[] | undefined> | undefined;

function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The wait a server asked for, in ms: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
export function parseRetryAfterMs(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const milliseconds = readHeader(headers, 'retry-after-ms');
  if (milliseconds !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(milliseconds)) return Number(milliseconds);
  const value = readHeader(headers, 'retry-after');
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects with TeacherAbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new TeacherAbortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new TeacherAbortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  policy: RetryPolicy;
  signal?: AbortSignal;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (event: { error: unknown; retryIndex: number; delayMs: number }) => void;
}

/** The wait before retry `retryIndex` (0-based) after `error`. */
export function retryDelayMs(error: unknown, retryIndex: number, options: RetryOptions): number {
  const requested = (error as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof requested === 'number' && requested >= 0 && requested <= options.policy.maxRetryAfterMs) {
    return requested;
  }
  return backoffDelayMs(retryIndex, options.policy, options.random);
}

/** Calls `attempt` until it succeeds, the error is not retryable, or the retries run out. */
export async function withRetries<T>(
  attempt: (attemptIndex: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const errors: unknown[] = [];
  const wait = options.sleep ?? sleep;
  for (let attemptIndex = 0; ; attemptIndex += 1) {
    try {
      return await attempt(attemptIndex);
    } catch (error) {
      errors.push(error);
      if (error instanceof TeacherAbortError || options.signal?.aborted)
        throw new TeacherRetryError('aborted', errors);
      const retryable = error instanceof TeacherError && error.isRetryable;
      if (!retryable) throw errors.length === 1 ? error : new TeacherRetryError('errorNotRetryable', errors);
      if (attemptIndex >= options.policy.maxRetries)
        throw new TeacherRetryError('maxRetriesExceeded', errors);
      const delayMs = retryDelayMs(error, attemptIndex, options);
      options.onRetry?.({ error, retryIndex: attemptIndex, delayMs });
      await wait(delayMs, options.signal);
    }
  }
}
