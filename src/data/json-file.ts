/**
 * Reading a JSON file a user points dnc at (a pipeline, an eval suite, a serve config), with
 * the same three clear errors everywhere: not found (and how to fix it), unreadable, invalid JSON.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors/user-error.js';

export interface JsonFileOptions {
  /** What the file is, for messages: `suite file`, `serve config`, `pipeline file`. */
  what: string;
  /** How to fix a missing file: `check --suite; paths resolve from ...`. */
  missingHint: string;
  /** Builds the error to throw (default: a UserError). */
  error?: (message: string) => Error;
}

function readError(file: string, error: unknown, options: JsonFileOptions): Error {
  const make = options.error ?? ((message: string) => new UserError(message));
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
    ? make(`${options.what} not found: ${file} (${options.missingHint})`)
    : make(`cannot read ${options.what} ${file}: ${(error as Error).message}`);
}

function parseJson(file: string, text: string, options: JsonFileOptions): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const make = options.error ?? ((message: string) => new UserError(message));
    throw make(`${options.what} ${file}: invalid JSON (${(error as Error).message})`);
  }
}

export async function readJsonFile(file: string, options: JsonFileOptions): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw readError(file, error, options);
  }
  return parseJson(file, text, options);
}

export function readJsonFileSync(file: string, options: JsonFileOptions): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw readError(file, error, options);
  }
  return parseJson(file, text, options);
}
