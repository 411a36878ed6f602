/**
 * A converter turns one published dataset file into Examples. It never drops a record: a
 * record it cannot convert stops the conversion with a ConvertError that names the file,
 * the line or record, and what is wrong.
 */
import type { z } from 'zod';
import { UserError } from '../../cli/user-error.js';
import type { Example } from '../schemas.js';
import { formatZodError } from '../zod-format.js';

export interface Converter {
  /** The `--format` name. */
  readonly name: string;
  /** One line for `--help`: what the input looks like. */
  readonly description: string;
  convert(file: string): Promise<Example[]>;
}

/** A record that cannot be converted. `location` is `FILE:LINE` or `FILE: record N (id X)`. */
export class ConvertError extends UserError {
  readonly location: string;

  constructor(location: string, problem: string) {
    super(`${location}: ${problem}`);
    this.name = 'ConvertError';
    this.location = location;
  }
}

/** Validates one source record against its published shape, or throws at `location`. */
export function parseSourceRecord<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  location: string,
  formatHint: string,
): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ConvertError(location, `${formatZodError(result.error)} (expected ${formatHint})`);
  }
  return result.data;
}

/** `test.jsonl` → `test`: the part of an id that tells two files of one dataset apart. */
export function fileStem(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.(jsonl|json|csv|tsv|txt)$/i, '');
}
