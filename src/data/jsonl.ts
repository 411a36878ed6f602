/**
 * JSON Lines on disk: a streaming validated reader, an atomic writer (temporary file, fsync,
 * rename) and an append-only journal whose appends are fsynced (group commit), so a
 * `kill -9` loses at most the appends in flight and never leaves a line that breaks a resume.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, truncate, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { formatZodError } from './zod-format.js';

/** A bad line in a JSONL file: the message names the file and the 1-based line number. */
export class JsonlError extends UserError {
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, problem: string) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'JsonlError';
    this.file = file;
    this.line = line;
  }
}

export async function assertReadableFile(file: string, what = 'file'): Promise<void> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new UserError(`${what} not found: ${file} (check the path; it is resolved from ${process.cwd()})`);
  }
  if (!info.isFile()) throw new UserError(`${what} is not a regular file: ${file}`);
}

/** Parses one line; throws a JsonlError naming the file, line and the invalid fields. */
export function parseJsonlLine<Schema extends z.ZodType>(
  text: string,
  schema: Schema,
  file: string,
  line: number,
): z.infer<Schema> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new JsonlError(
      file,
      line,
      `invalid JSON (${(error as Error).message}); each line must be one JSON object`,
    );
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new JsonlError(file, line, formatZodError(result.error));
  return result.data;
}

/** Streams validated records. Blank lines are allowed; every other line must be valid. */
export async function* readJsonl<Schema extends z.ZodType>(
  file: string,
  schema: Schema,
): AsyncGenerator<{ value: z.infer<Schema>; line: number }> {
  await assertReadableFile(file);
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() === '') continue;
    yield { value: parseJsonlLine(text, schema, file, line), line };
  }
}

/** Reads a whole JSONL file into memory, validated. */
export async function readJsonlAll<Schema extends z.ZodType>(
  file: string,
  schema: Schema,
): Promise<z.infer<Schema>[]> {
  const values: z.infer<Schema>[] = [];
  for await (const { value } of readJsonl(file, schema)) values.push(value);
  return values;
}

async function fsyncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Some filesystems do not allow fsync on directories; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

/** Writes a whole file atomically: readers see the old file or the new one, never half of it. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await rename(temporary, file);
  await fsyncDirectory(dirname(file));
}

/** Validates every record, then writes the JSONL file atomically. */
export async function writeJsonlAtomic<Schema extends z.ZodType>(
  file: string,
  records: Iterable<unknown>,
  schema: Schema,
): Promise<number> {
  const lines: string[] = [];
  let index = 0;
  for (const record of records) {
    index += 1;
    const result = schema.safeParse(record);
    if (!result.success) {
      throw new Error(
        `refusing to write ${file}: record ${index} is invalid: ${formatZodError(result.error)}`,
      );
    }
    lines.push(JSON.stringify(result.data));
  }
  await writeFileAtomic(file, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  return lines.length;
}

export interface Journal<T> {
  readonly file: string;
  /** The records already in the file when it was opened, in order. */
  readonly existing: readonly T[];
  /** True when the last line was torn by a crash mid-write and has been cut off. */
  readonly repairedTornLine: boolean;
  /** Validates and appends one record; resolves once it is on disk (fsync). */
  append(record: T): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens (or creates) an append-only JSONL journal. A torn final line (no newline and not
 * parseable, the mark of a crash mid-write) is cut off; any other bad line is an error,
 * because silently dropping a paid record would mean paying for it again.
 */
export async function openJournal<Schema extends z.ZodType>(
  file: string,
  schema: Schema,
): Promise<Journal<z.infer<Schema>>> {
  await mkdir(dirname(file), { recursive: true });
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const existing: z.infer<Schema>[] = [];
  let repairedTornLine = false;
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  lines.forEach((line, index) => {
    if (line.trim() !== '') existing.push(parseJsonlLine(line, schema, file, index + 1));
  });
  if (tail.trim() !== '') {
    let complete: z.infer<Schema> | undefined;
    try {
      complete = parseJsonlLine(tail, schema, file, lines.length + 1);
    } catch {
      complete = undefined;
    }
    if (complete === undefined) {
      repairedTornLine = true;
      await truncate(file, Buffer.byteLength(text, 'utf8') - Buffer.byteLength(tail, 'utf8'));
    } else {
      existing.push(complete);
      const fixer = await open(file, 'a');
      await fixer.write('\n');
      await fixer.close();
    }
  }

  const handle = await open(file, 'a');
  let pending: { line: string; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let flushing: Promise<void> | undefined;

  // Group commit: every append waiting while a write+fsync is in progress goes out in the next one.
  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await handle.write(batch.map((entry) => `${entry.line}\n`).join(''));
        await handle.datasync();
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    flushing = undefined;
  };

  return {
    file,
    existing,
    repairedTornLine,
    append(record) {
      const result = schema.safeParse(record);
      if (!result.success) {
        return Promise.reject(new Error(`refusing to append to ${file}: ${formatZodError(result.error)}`));
      }
      return new Promise<void>((resolve, reject) => {
        pending.push({ line: JSON.stringify(result.data), resolve, reject });
        flushing ??= flush();
      });
    },
    async close() {
      await flushing;
      await handle.close();
    },
  };
}
