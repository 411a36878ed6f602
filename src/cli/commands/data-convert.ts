import type { Command } from 'commander';
import { convertFileWithSummary, describeConversion, formatNames } from '../../data/convert/index.js';
import { writeJsonlAtomic } from '../../data/jsonl.js';
import { exampleSchema } from '../../data/schemas.js';
import { log, printJson, printText } from '../output.js';

interface ConvertOptions {
  format: string;
  in: string;
  out: string;
  json?: boolean;
}

/**
 * `dnc data convert --format F --in FILE --out FILE`: a published dataset file → Examples (JSONL).
 * The summary counts records read and converted and every record or step dropped, by reason.
 */
export function registerDataConvert(data: Command): void {
  data
    .command('convert')
    .description('convert a published dataset file into Examples (JSON Lines)')
    .requiredOption('--format <format>', formatNames.join('|'))
    .requiredOption('--in <file>', 'the dataset file, in its published format')
    .requiredOption('--out <file>', 'where to write the Examples (JSON Lines, written atomically)')
    .option(
      '--json',
      'print one JSON object { format, in, out, count, recordsRead, converted, recordsDropped, stepsDropped } on stdout',
    )
    .action(async (options: ConvertOptions) => {
      const { examples, summary } = await convertFileWithSummary(options.format, options.in);
      const count = await writeJsonlAtomic(options.out, examples, exampleSchema);
      log(`dnc data convert: ${describeConversion(summary)}`);
      if (options.json === true)
        printJson({ format: options.format, in: options.in, out: options.out, count, ...summary });
      else printText(`converted ${count} examples (${options.format}) from ${options.in} to ${options.out}`);
    });
}
