/**
 * The request target as the client sent it, checked before routing: only origin-form
 * (`/path?query`) with a plain, normalised path is served. The router would otherwise decode
 * percent-escapes (`/%761/models` is `/v1/models` to it) and accept absolute-form targets
 * (`http://x/v1/models`), so a check on the raw URL and the route the router picks could
 * disagree. No route of this server has a parameter or needs an escape, so refusing them
 * costs a client nothing.
 */
import { ApiError } from './api-error.js';

/** Characters a served path may hold: letters, digits and `/ - _ .` (no escapes, no `;`); `/` alone too. */
const plainPath = /^(?:\/[A-Za-z0-9\-_.]+)*\/?$/;
/** Dot segments (`/./`, `/../`, a trailing `/.` or `/..`). */
const dotSegment = /(?:^|\/)\.{1,2}(?:\/|$)/;

function refuse(target: string, why: string): ApiError {
  const shown = target.length > 80 ? `${target.slice(0, 80)}…` : target;
  return new ApiError(
    400,
    'invalid_request_error',
    `request target ${JSON.stringify(shown)} refused: ${why}`,
    {
      code: 'invalid_request_target',
    },
  );
}

/** Throws a 400 ApiError unless `target` is origin-form with a plain, normalised path. */
export function checkRequestTarget(target: string): void {
  if (!target.startsWith('/'))
    throw refuse(target, 'send the path alone (origin-form, e.g. /v1/models), not an absolute URL');
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (path.includes('//')) throw refuse(target, 'the path has an empty segment (//)');
  if (dotSegment.test(path)) throw refuse(target, 'the path has a dot segment (/./ or /../)');
  if (!plainPath.test(path))
    throw refuse(target, 'the path may hold only letters, digits and / - _ . (no percent-escapes)');
}
