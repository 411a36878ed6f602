import type { Command } from 'commander';

/** `dnc data ...`: the dataset commands. Each subcommand file adds itself to this group. */
export function register(program: Command): void {
  program.command('data').description('generate, convert and inspect datasets (JSON Lines of Examples)');
}
