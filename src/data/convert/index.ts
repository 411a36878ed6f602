/** The registry of converters from published dataset formats to Examples. */
import { UserError } from '../../cli/user-error.js';
import { assertReadableFile } from '../jsonl.js';
import type { Example } from '../schemas.js';
import { bamboogleConverter } from './bamboogle.js';
import type { Converter } from './converter.js';
import { dropConverter } from './drop.js';
import { gsm8kSocraticConverter } from './gsm8k-socratic.js';
import { gsm8kConverter } from './gsm8k.js';
import { hotpotqaConverter } from './hotpotqa.js';
import { strategyqaConverter } from './strategyqa.js';

export type { Converter } from './converter.js';
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

/** Converts a file; a missing file, a bad record or two records with one id stop it. */
export async function convertFile(format: string, file: string): Promise<Example[]> {
  const converter = getConverter(format);
  await assertReadableFile(file, 'input file');
  const examples = await converter.convert(file);
  const seen = new Set<string>();
  for (const example of examples) {
    if (seen.has(example.id)) {
      throw new UserError(`${file}: two records have the id '${example.id}'; ids must be unique`);
    }
    seen.add(example.id);
  }
  return examples;
}
