/**
 * One `dnc run` per run directory at a time: `RUN/.lock` holds the owner's pid. A lock left by a
 * process that no longer exists (a `kill -9`) is taken over; a live owner is an error.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors/user-error.js';

export const lockFileName = '.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryCreate(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'wx');
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Takes the lock of `runDirectory`; returns its release. */
export async function lockRunDirectory(runDirectory: string): Promise<() => Promise<void>> {
  await mkdir(runDirectory, { recursive: true });
  const file = join(runDirectory, lockFileName);
  const release = async () => {
    await rm(file, { force: true });
  };
  if (await tryCreate(file)) return release;
  const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
  if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner))
    throw new UserError(
      `${runDirectory} is in use by another dnc run (pid ${owner}); wait for it to finish or stop it, then rerun`,
    );
  await rm(file, { force: true });
  if (!(await tryCreate(file)))
    throw new UserError(`${runDirectory} was locked by another dnc run just now; wait for it, then rerun`);
  return release;
}
