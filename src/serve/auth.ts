/**
 * Optional bearer-token auth from configured keys, checked on the route the router matched
 * (server.ts): every route needs a key unless it is registered with `config: { public: true }`
 * (/healthz, /readyz, and /metrics when `publicMetrics` is set); unmatched paths need one too. Keys and the presented token are compared
 * as SHA-256 digests with `crypto.timingSafeEqual` (equal lengths by construction), against
 * every key without stopping early, so the time taken says nothing about any key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-error.js';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export type Authenticator = (authorization: string | undefined) => void;

/** Returns a check that throws a 401 ApiError unless the header carries one of `keys`. */
export function createAuthenticator(keys: readonly string[]): Authenticator {
  const digests = keys.map(digest);
  return (authorization) => {
    if (digests.length === 0) return;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (match === null)
      throw new ApiError(
        401,
        'authentication_error',
        'missing API key: send the header `Authorization: Bearer KEY` with a key from the serve config',
        { code: 'missing_api_key' },
      );
    const presented = digest(match[1]);
    let accepted = false;
    for (const key of digests) accepted = timingSafeEqual(presented, key) || accepted;
    if (!accepted)
      throw new ApiError(401, 'authentication_error', 'incorrect API key provided', {
        code: 'invalid_api_key',
      });
  };
}

/** Route config marking a route that answers without a key. */
export interface RouteAuthConfig {
  public?: boolean;
}

/** True when the matched route's config marks it public. */
export function isPublicRoute(config: unknown): boolean {
  return typeof config === 'object' && config !== null && (config as RouteAuthConfig).public === true;
}
