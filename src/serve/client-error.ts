/**
 * Node's own replies to a request it cannot hand to the router (a malformed request line, a
 * header block over the size limit, a request not received within `limits.receiveTimeoutMs`),
 * written in OpenAI's error shape like every other error of this server. Used as Fastify's
 * `clientErrorHandler`.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from './api-error.js';

/** The error a client-side HTTP failure answers with (by Node's error code). */
export function clientErrorOf(error: { code?: string }, receiveTimeoutMs: number): ApiError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new ApiError(
      408,
      'invalid_request_error',
      `the request (headers and body) was not received within ${receiveTimeoutMs} ms (limits.receiveTimeoutMs)`,
      { code: 'request_timeout' },
    );
  if (error.code === 'HPE_HEADER_OVERFLOW')
    return new ApiError(431, 'invalid_request_error', 'the request headers are too large', {
      code: 'request_header_fields_too_large',
    });
  return new ApiError(400, 'invalid_request_error', 'malformed HTTP request', { code: 'bad_request' });
}

/** Writes `apiError` as a complete HTTP/1.1 response on a raw socket, then closes it. */
export function writeClientError(socket: Socket, apiError: ApiError, cause: Error): void {
  if (socket.writable) {
    const body = JSON.stringify(apiError.body());
    socket.write(
      `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status] ?? 'Error'}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(cause);
}
