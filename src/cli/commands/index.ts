import type { Command } from 'commander';
import { register as registerAsk } from './ask.js';
import { register as registerBench } from './bench.js';
import { register as registerCollect } from './collect.js';
import { register as registerData } from './data.js';

/** Each command file exports one `register(program)`; they are listed here in CLI order. */
const registrations: ((program: Command) => void)[] = [registerData, registerCollect, registerAsk, registerBench];

export function registerCommands(program: Command): void {
  for (const register of registrations) register(program);
}
