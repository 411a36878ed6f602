import type { Command } from 'commander';

/** Each command file exports one `register(program)`; they are listed here in CLI order. */
const registrations: ((program: Command) => void)[] = [];

export function registerCommands(program: Command): void {
  for (const register of registrations) register(program);
}
