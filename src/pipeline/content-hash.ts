/**
 * Content hashes that decide whether a stage may be skipped: sha256 over canonical JSON (key
 * order does not matter) for settings, and over the bytes for files.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { canonicalJson } from '../eval/brick-cache.js';

export function hashValue(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** The sha256 of a file's bytes, or undefined when it cannot be read (missing). */
export async function hashFile(file: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return hash.digest('hex');
}
