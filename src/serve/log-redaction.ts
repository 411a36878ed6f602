/**
 * What the request log may show: headers and query parameters that can carry a credential
 * are replaced by `[redacted]`, so no log line ever holds a key, whatever header or query
 * parameter a client used to send it (`Authorization`, `api-key`, `x-api-key`, `?api_key=`,
 * `?token=`, cookies, …).
 */

export const redacted = '[redacted]';

/** Header and query-parameter names that carry credentials, exactly. */
const secretNames = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'key',
  'code',
  'sig',
  'signature',
]);

/** Any name mentioning one of these (after `-`/`_` are dropped) is treated as a credential. */
const secretWords = [
  'auth',
  'key',
  'token',
  'secret',
  'password',
  'passwd',
  'session',
  'credential',
  'cookie',
];

/** True when a header or query parameter called `name` may carry a credential. */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  if (secretNames.has(lower)) return true;
  const squashed = lower.replace(/[-_.\s]/g, '');
  return secretWords.some((word) => squashed.includes(word));
}

/** Request headers as logged: every credential-carrying header replaced. */
export function loggableHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, isSecretName(name) ? redacted : value]),
  );
}

function decodedName(rawName: string): string | undefined {
  try {
    return decodeURIComponent(rawName.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The request target as logged: the value of every credential-carrying query parameter replaced. */
export function loggableUrl(url: string): string {
  const queryAt = url.indexOf('?');
  if (queryAt === -1) return url;
  const parameters = url
    .slice(queryAt + 1)
    .split('&')
    .map((parameter) => {
      const equalsAt = parameter.indexOf('=');
      const rawName = equalsAt === -1 ? parameter : parameter.slice(0, equalsAt);
      const name = decodedName(rawName);
      // An undecodable name cannot be judged, so the parameter is not shown at all.
      if (name === undefined) return redacted;
      return isSecretName(name) ? `${rawName}=${redacted}` : parameter;
    });
  return `${url.slice(0, queryAt)}?${parameters.join('&')}`;
}
