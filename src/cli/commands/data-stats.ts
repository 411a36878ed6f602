import type { Command } from 'commander';
import { JsonlError, readJsonl } from '../../data/jsonl.js';
import { exampleSchema } from '../../data/schemas.js';
import { createStatsAccumulator, formatStatsTable } from '../../data/stats.js';
import { printJson, printText } from '../output.js';
import { UserError } from '../../errors/user-error.js';

/** `dnc data stats FILE [--json]`: counts, answer types, gold decompositions, diversity. */
export function registerDataStats(data: Command): void {
  data
    .command('stats')
    .description('summarize a JSON Lines file of Examples (counts, answer types, gold, diversity)')
    .argument('<file>', 'a JSON Lines file of Examples')
    .option('--json', 'print one JSON object on stdout')
    .action(async (file: string, options: { json?: boolean }) => {
      const accumulator = createStatsAccumulator();
      try {
        for await (const { value } of readJsonl(file, exampleSchema)) accumulator.add(value);
      } catch (error) {
        if (!(error instanceof JsonlError)) throw error;
        throw new UserError(
          `${error.message} (stats reads Examples; convert a published file first with \`dnc data convert\`)`,
        );
      }
      const stats = accumulator.result();
      if (options.json === true) printJson({ file, ...stats });
      else printText(`${file}\n${formatStatsTable(stats)}`);
    });
}
