/** Reading published source files (JSON Lines, JSON, CSV) with errors that name file and line. */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse/sync';
import { assertReadableFile } from '../jsonl.js';
import { ConvertError } from './converter.js';

/** Streams the JSON value of each non-blank line, with its 1-based line number. */
export async function* readSourceLines(file: string): AsyncGenerator<{ value: unknown; line: number }> {
  await assertReadableFile(file, 'input file');
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line += 1;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ConvertError(
        `${file}:${line}`,
        `invalid JSON (${(error as Error).message}); a JSON Lines file holds one JSON object per line`,
      );
    }
    yield { value, line };
  }
}

function describeJsonError(text: string, error: Error): string {
  const position = /at position (\d+)/.exec(error.message);
  if (position === null) return error.message.split('\n')[0] ?? error.message;
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${error.message.replace(/ in JSON at position \d+.*$/s, '')} at line ${line}, column ${column}`;
}

/** Parses a whole JSON file; a syntax error names the line and column. */
export async function readSourceJson(file: string): Promise<unknown> {
  await assertReadableFile(file, 'input file');
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConvertError(file, `invalid JSON: ${describeJsonError(text, error as Error)}`);
  }
}

export interface CsvRow {
  /** The 1-based line the record ends on (its only line, unless a quoted field spans lines). */
  line: number;
  fields: Record<string, string>;
}

/** Parses a CSV file with a header row (csv-parse); every row keeps its line number. */
export async function readSourceCsv(file: string): Promise<CsvRow[]> {
  await assertReadableFile(file, 'input file');
  const text = await readFile(file, 'utf8');
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parseCsv(text, {
      bom: true,
      columns: true,
      info: true,
      skip_empty_lines: true,
    }) as unknown as { record: Record<string, string>; info: { lines: number } }[];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new ConvertError(line === undefined ? file : `${file}:${line}`, (error as Error).message);
  }
  return records.map(({ record, info }) => ({ line: info.lines, fields: record }));
}
