/**
 * Teacher errors. Each says whether trying again could help (`isRetryable`), so the retry
 * policy never has to guess from a message.
 */

export class TeacherError extends Error {
  readonly isRetryable: boolean;

  constructor(message: string, options: { isRetryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'TeacherError';
    this.isRetryable = options.isRetryable;
  }
}

/** HTTP statuses worth retrying: timeout, conflict, rate limit and server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The endpoint answered with an error status. */
export class TeacherApiCallError extends TeacherError {
  readonly status: number;
  readonly url: string;
  /** The server's requested wait (`retry-after-ms` / `retry-after`), when it sent one. */
  readonly retryAfterMs: number | undefined;
  readonly responseBody: string | undefined;

  constructor(options: {
    status: number;
    url: string;
    message: string;
    retryAfterMs?: number;
    responseBody?: string;
    cause?: unknown;
  }) {
    super(`${options.url} answered HTTP ${options.status}: ${options.message}`, {
      isRetryable: isRetryableStatus(options.status),
      cause: options.cause,
    });
    this.name = 'TeacherApiCallError';
    this.status = options.status;
    this.url = options.url;
    this.retryAfterMs = options.retryAfterMs;
    this.responseBody = options.responseBody;
  }
}

/** One request took longer than the per-request timeout. */
export class TeacherTimeoutError extends TeacherError {
  constructor(timeoutMs: number, url: string) {
    super(`no answer from ${url} within ${timeoutMs} ms (raise the timeout if the endpoint is just slow)`, {
      isRetryable: true,
    });
    this.name = 'TeacherTimeoutError';
  }
}

/** The connection failed (refused, reset, DNS). */
export class TeacherNetworkError extends TeacherError {
  constructor(url: string, cause: unknown) {
    super(`cannot reach ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      isRetryable: true,
      cause,
    });
    this.name = 'TeacherNetworkError';
  }
}

/** The HTTP body was not the JSON envelope the API promises (a proxy glitch or a cut-off body). */
export class TeacherInvalidResponseError extends TeacherError {
  constructor(url: string, problem: string) {
    super(`${url} sent a response that is not a valid chat completion: ${problem}`, { isRetryable: true });
    this.name = 'TeacherInvalidResponseError';
  }
}

/** The caller cancelled the request (not retried). */
export class TeacherAbortError extends TeacherError {
  constructor() {
    super('the request was cancelled', { isRetryable: false });
    this.name = 'TeacherAbortError';
  }
}

/** The teacher cannot do this at all (for example `gold` asked to solve without gold sub-answers). */
export class TeacherUnsupportedError extends TeacherError {
  constructor(message: string) {
    super(message, { isRetryable: false });
    this.name = 'TeacherUnsupportedError';
  }
}

/** Every attempt failed, or the failure was not retryable; `errors` holds each attempt's error. */
export class TeacherRetryError extends TeacherError {
  readonly reason: 'maxRetriesExceeded' | 'errorNotRetryable' | 'aborted';
  readonly errors: readonly unknown[];
  readonly lastError: unknown;

  constructor(reason: TeacherRetryError['reason'], errors: readonly unknown[]) {
    const last = errors.at(-1);
    const lastMessage = last instanceof Error ? last.message : String(last);
    const prefix =
      reason === 'maxRetriesExceeded'
        ? `failed after ${errors.length} attempts`
        : reason === 'aborted'
          ? 'cancelled'
          : 'failed (not retryable)';
    super(`${prefix}: ${lastMessage}`, { isRetryable: false, cause: last });
    this.name = 'TeacherRetryError';
    this.reason = reason;
    this.errors = errors;
    this.lastError = last;
  }
}
