/** stdout carries results only; everything a person reads while waiting goes to stderr. */

/** Prints exactly one JSON object on stdout (the `--json` contract). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints human-readable result text on stdout. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Logs a line on stderr. */
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
