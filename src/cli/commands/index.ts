import type { Command } from 'commander';
import { register as registerAsk } from './ask.js';
import { register as registerBench } from './bench.js';
import { register as registerBricks } from './bricks.js';
import { register as registerCollect } from './collect.js';
import { register as registerData } from './data.js';
import { register as registerDecoding } from './decoding.js';
import { register as registerEval } from './eval.js';
import { register as registerExport } from './export.js';
import { register as registerGenerate } from './generate.js';
import { register as registerRoute } from './route.js';
import { register as registerRun } from './run.js';
import { register as registerServe } from './serve.js';
import { register as registerTrain } from './train.js';

/** Each command file exports one `register(program)`; they are listed here in CLI order. */
const registrations: ((program: Command) => void)[] = [
  registerData,
  registerCollect,
  registerTrain,
  registerExport,
  registerBricks,
  registerGenerate,
  registerDecoding,
  registerAsk,
  registerEval,
  registerServe,
  registerRoute,
  registerRun,
  registerBench,
];

export function registerCommands(program: Command): void {
  for (const register of registrations) register(program);
}
