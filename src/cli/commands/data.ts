import type { Command } from 'commander';
import { registerDataConvert } from './data-convert.js';
import { registerDataGenerate } from './data-generate.js';
import { registerDataStats } from './data-stats.js';

/** `dnc data ...`: the dataset commands. Each subcommand file adds itself to this group. */
export function register(program: Command): void {
  const data = program
    .command('data')
    .description('generate, convert and inspect datasets (JSON Lines of Examples)');
  registerDataGenerate(data);
  registerDataConvert(data);
  registerDataStats(data);
}
