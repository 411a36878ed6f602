/**
 * Shared pieces of the tests that run `dnc train` as a child process: the small nano recipe's
 * arguments, the checkpoint steps a run directory holds, and a run stopped by a signal once a
 * checkpoint of a given step exists (how the resume tests simulate a kill at a known point).
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { dncBin, repoRoot } from './cli.js';

export interface NanoTrainOptions {
  data: string;
  out: string;
  maxSteps: number;
  batchSize?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  warmupSteps?: number;
  /** Further flags, appended as given. */
  extra?: readonly string[];
}

/** `dnc train` arguments for a nano decomposer on a fixture of a few dozen chats (under the data floor on purpose). */
export function nanoTrainArgs(options: NanoTrainOptions): string[] {
  return [
    ...['train', '--data', options.data, '--role', 'decomposer', '--preset', 'nano', '--out', options.out],
    ...['--max-steps', String(options.maxSteps), '--epochs', '1000'],
    ...['--batch-size', String(options.batchSize ?? 4), '--eval-every', String(options.evalEvery ?? 10)],
    ...[
      '--checkpoint-every',
      String(options.checkpointEvery ?? 10),
      '--warmup-steps',
      String(options.warmupSteps ?? 5),
    ],
    ...['--allow-small-data', '--json'],
    ...(options.extra ?? []),
  ];
}

/** The steps of the checkpoints under `out/checkpoints` (none yet: empty). */
export async function checkpointSteps(out: string): Promise<number[]> {
  const names = await readdir(join(out, 'checkpoints')).catch(() => [] as string[]);
  return names.filter((name) => /^step-\d+$/.test(name)).map((name) => Number(name.slice(5)));
}

export interface StoppedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Starts `dnc ...args` and sends `signal` once `out` holds a checkpoint of step ≥ `afterStep` (at most 60 s). */
export async function runUntilCheckpoint(
  args: readonly string[],
  out: string,
  afterStep: number,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<StoppedRun> {
  const child = spawn(process.execPath, [dncBin, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, received) => resolve({ code, signal: received })),
  );
  const deadline = Date.now() + 60_000;
  while (Math.max(0, ...(await checkpointSteps(out))) < afterStep && Date.now() < deadline) await delay(10);
  child.kill(signal);
  return { ...(await closed), stderr };
}
