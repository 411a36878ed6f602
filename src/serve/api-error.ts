/**
 * Errors in OpenAI's JSON shape: `{ error: { message, type, param, code } }`, with the HTTP
 * status and extra headers (`retry-after`) the server sends with them.
 */
import type { z } from 'zod';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'server_error'
  | 'service_unavailable_error';

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly options: { param?: string; code?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ApiErrorBody {
    return {
      error: {
        message: this.message,
        type: this.type,
        param: this.options.param ?? null,
        code: this.options.code ?? null,
      },
    };
  }
}

/** A 400 naming the first invalid field of a request body (`param`) and every problem found. */
export function invalidRequest(error: z.ZodError, what: string): ApiError {
  const issues = error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${path === '' ? '(body)' : path}: ${issue.message}`;
  });
  const first = error.issues[0]?.path.map(String).join('.');
  return new ApiError(400, 'invalid_request_error', `invalid ${what}: ${issues.join('; ')}`, {
    param: first === undefined || first === '' ? undefined : first,
    code: 'invalid_value',
  });
}

/** Maps a Fastify/HTTP-level error (bad JSON, body too large, wrong content type) to an ApiError. */
export function fromHttpError(error: { statusCode?: number; code?: string; message: string }): ApiError {
  const status = error.statusCode ?? 500;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new ApiError(413, 'invalid_request_error', `request body too large: ${error.message}`, {
      code: 'request_too_large',
    });
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new ApiError(
      415,
      'invalid_request_error',
      `${error.message}; send Content-Type: application/json`,
      {
        code: 'unsupported_media_type',
      },
    );
  if (status === 400)
    return new ApiError(400, 'invalid_request_error', `could not parse the JSON body: ${error.message}`, {
      code: 'invalid_json',
    });
  if (status >= 400 && status < 500)
    return new ApiError(status, 'invalid_request_error', error.message, { code: error.code });
  return new ApiError(500, 'server_error', 'internal server error (see the server log)', {
    code: 'internal_error',
  });
}
