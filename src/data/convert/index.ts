/** The registry of converters from published dataset formats to Examples. */
import { UserError } from '../../errors/user-error.js';
import { assertReadableFile } from '../jsonl.js';
import type { Example } from '../schemas.js';
import { bamboogleConverter } from './bamboogle.js';
import { type Converter, type ConversionTally, emptyTally } from './converter.js';
import { dropConverter } from './drop.js';
import { gsm8kSocraticConverter } from './gsm8k-socratic.js';
import { gsm8kConverter } from './gsm8k.js';
import { hotpotqaConverter } from './hotpotqa.js';
import { strategyqaConverter } from './strategyqa.js';

export type { Converter, ConversionTally } from './converter.js';
export { ConvertError } from './converter.js';

export const formatNames = [
  'gsm8k',
  'gsm8k-socratic',
  'drop',
  'hotpotqa',
  'bamboogle',
  'strategyqa',
] as const;
export type FormatName = (typeof formatNames)[number];

export const converters: Readonly<Record<FormatName, Converter>> = {
  gsm8k: gsm8kConverter,
  'gsm8k-socratic': gsm8kSocraticConverter,
  drop: dropConverter,
  hotpotqa: hotpotqaConverter,
  bamboogle: bamboogleConverter,
  strategyqa: strategyqaConverter,
};

export function isFormatName(name: string): name is FormatName {
  return (formatNames as readonly string[]).includes(name);
}

/** The converter for `--format NAME`; an unknown name is one line listing the valid ones. */
export function getConverter(name: string): Converter {
  if (!isFormatName(name)) {
    throw new UserError(`unknown format '${name}': choose one of ${formatNames.join(', ')}`);
  }
  return converters[name];
}

/** What `dnc data convert` reports: records read and converted, and every drop by reason. */
export interface ConversionSummary extends ConversionTally {
  recordsRead: number;
  converted: number;
}

export interface Conversion {
  examples: Example[];
  summary: ConversionSummary;
}

const total = (counts: Record<string, number>): number =>
  Object.values(counts).reduce((sum, count) => sum + count, 0);

/**
 * Converts a file and says what was left out; a missing file, a record without the published
 * shape or two records with one id stop it.
 */
export async function convertFileWithSummary(format: string, file: string): Promise<Conversion> {
  const converter = getConverter(format);
  await assertReadableFile(file, 'input file');
  const tally = emptyTally();
  const examples = await converter.convert(file, tally);
  const seen = new Set<string>();
  for (const example of examples) {
    if (seen.has(example.id)) {
      throw new UserError(`${file}: two records have the id '${example.id}'; ids must be unique`);
    }
    seen.add(example.id);
  }
  const recordsRead = examples.length + total(tally.recordsDropped);
  return { examples, summary: { recordsRead, converted: examples.length, ...tally } };
}

/** Converts a file (see convertFileWithSummary) and returns the examples alone. */
export async function convertFile(format: string, file: string): Promise<Example[]> {
  return (await convertFileWithSummary(format, file)).examples;
}

/** `read 1319 records, converted 1319; dropped steps: empty-answer 12` (the drops, when any). */
export function describeConversion(summary: ConversionSummary): string {
  const list = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([reason, count]) => `${reason} ${count}`)
      .join(', ');
  const parts = [`read ${summary.recordsRead} records, converted ${summary.converted}`];
  if (total(summary.recordsDropped) > 0) parts.push(`dropped records: ${list(summary.recordsDropped)}`);
  if (total(summary.stepsDropped) > 0) parts.push(`dropped steps: ${list(summary.stepsDropped)}`);
  return parts.join('; ');
}
