/**
 * A converter turns one published dataset file into Examples. A record that does not have the
 * published shape stops the conversion with a ConvertError that names the file, the line or
 * record, and what is wrong. A converter whose published file is known to hold unclean parts
 * (GSM8K socratic: steps with an empty answer) drops them and counts each drop by reason in the
 * tally it is given, so the summary says what was left out.
 */
import type { z } from 'zod';
import { UserError } from '../../errors/user-error.js';
import type { Example } from '../schemas.js';
import { formatZodError } from '../zod-format.js';

export interface Converter {
  /** The `--format` name. */
  readonly name: string;
  /** One line for `--help`: what the input looks like. */
  readonly description: string;
  convert(file: string, tally?: ConversionTally): Promise<Example[]>;
}

/** What a conversion left out, by reason (`empty-answer`: 3). */
export interface ConversionTally {
  /** Whole records dropped (the record could not give a usable example). */
  recordsDropped: Record<string, number>;
  /** Parts of kept records dropped (a socratic step with an empty answer). */
  stepsDropped: Record<string, number>;
}

export const emptyTally = (): ConversionTally => ({ recordsDropped: {}, stepsDropped: {} });

/** Adds one drop of `reason` to `counts`. */
export function countDrop(counts: Record<string, number>, reason: string): void {
  counts[reason] = (counts[reason] ?? 0) + 1;
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
