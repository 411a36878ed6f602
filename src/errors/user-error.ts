/**
 * An error caused by the user's input (a missing file, a bad flag, a malformed line).
 * The CLI prints its message as one line and exits with `exitCode`; the message must say
 * what was wrong and how to fix it.
 */
export class UserError extends Error {
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 1;
  }
}
