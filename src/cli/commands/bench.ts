import type { Command } from 'commander';
import { printJson } from '../output.js';
import { UserError } from '../../errors/user-error.js';

/** The benchmarks in bench/: each file exports `run(options)` returning one JSON-able object. */
const benchmarks = ['train', 'decode', 'collect', 'serve'] as const;
type BenchmarkName = (typeof benchmarks)[number];

interface BenchmarkModule {
  run(options: { quick: boolean }): Promise<Record<string, unknown>>;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description(`run a benchmark and print one JSON object (${benchmarks.join(', ')})`)
    .argument('<name>', benchmarks.join('|'))
    .option('--json', 'print one JSON object on stdout (always on for benchmarks)')
    .option('--quick', 'smaller sizes, for a smoke test')
    .action(async (name: string, options: { quick?: boolean }) => {
      if (!(benchmarks as readonly string[]).includes(name)) {
        throw new UserError(`unknown benchmark '${name}': choose one of ${benchmarks.join(', ')}`);
      }
      const module = (await import(`../../../bench/${name as BenchmarkName}.ts`)) as BenchmarkModule;
      printJson(await module.run({ quick: options.quick === true }));
    });
}
