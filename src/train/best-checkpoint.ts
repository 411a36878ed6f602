/**
 * The best validation checkpoint at the end of a run: its weights go back into the trainer (so
 * that the export writes them, not the last step's) and become the run directory's export view
 * (`model.safetensors`, `student.json`: what `dnc export DIR` reads). The newest step checkpoint
 * stays as it was, so `--resume` still continues from the last step.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { type Trainer } from '../engine/trainer.js';
import { checkpointFiles } from '../export/checkpoint.js';
import { checkpointDirectoryOf, readTrainingCheckpoint, type TrainingState } from './training-checkpoint.js';

/**
 * Loads the checkpoint of `step` into the trainer and makes it the run's export view; returns its
 * directory and training state (the lineage and metrics of what is exported).
 */
export async function restoreBestCheckpoint(
  trainer: Trainer,
  outDirectory: string,
  step: number,
): Promise<{ directory: string; state: TrainingState }> {
  const directory = checkpointDirectoryOf(outDirectory, step);
  const best = await readTrainingCheckpoint(directory).catch((error: unknown) => {
    throw new UserError(
      `the best validation checkpoint ${directory} cannot be read (${(error as Error).message}); ` +
        `export the last step with \`dnc export ${outDirectory}\`, or train afresh`,
      { cause: error },
    );
  });
  trainer.restore(new Map([...best.weights, ...best.moments]), best.state.step);
  for (const file of [checkpointFiles.weights, checkpointFiles.manifest])
    await writeFileAtomic(join(outDirectory, file), await readFile(join(directory, file)));
  return { directory, state: best.state };
}
