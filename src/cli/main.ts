import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { UserError } from '../errors/user-error.js';
import { TrainingDivergedError } from '../train/training-diverged-error.js';
import { RemoteTrainingFailedError } from '../train/remote/remote-training-failed-error.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command('dnc')
    .description('divide-or-conquer distillation: teacher decompositions → local decomposer brick → solver')
    .version(packageJson.version)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeErr: (text) => process.stderr.write(text),
      outputError: (text, write) =>
        write(`dnc: ${text.replace(/^error: /, '').trim()} (see \`dnc --help\`)\n`),
    });
  registerCommands(program);
  return program;
}

/** Exit codes by error class (a pipeline stage wraps its error: the cause chain is searched). */
function exitCodeOf(error: UserError): number {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof TrainingDivergedError) return 3;
    if (cause instanceof RemoteTrainingFailedError) return 2;
  }
  return error.exitCode;
}

/** One clear line on stderr and a non-zero exit; stack traces only with DNC_DEBUG=1. */
function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode; // commander already printed its line
  if (error instanceof UserError) {
    process.stderr.write(`dnc: ${error.message}\n`);
    return exitCodeOf(error);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`dnc: internal error: ${message} (rerun with DNC_DEBUG=1 for a stack trace)\n`);
  if (process.env.DNC_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return 70;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
