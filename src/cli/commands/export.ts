/**
 * `dnc export CHECKPOINT_DIR --out BRICK_DIR [--json]`: a trained student checkpoint becomes a
 * brick directory in the Hugging Face ONNX layout (see src/export/).
 */
import type { Command } from 'commander';
import { readCheckpoint } from '../../export/checkpoint.js';
import { exportBrick } from '../../export/export-brick.js';
import { log, printJson, printText } from '../output.js';
import { UserError } from '../user-error.js';

async function runExport(
  checkpointDirectory: string,
  options: { out?: string; json?: boolean },
): Promise<void> {
  if (options.out === undefined || options.out.trim() === '')
    throw new UserError('give the brick directory to write: --out BRICK_DIR');
  const checkpoint = await readCheckpoint(checkpointDirectory);
  let result;
  try {
    result = await exportBrick({ ...checkpoint, outDirectory: options.out });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`export of ${checkpointDirectory} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const summary = {
    out: result.outDirectory,
    role: result.manifest.role,
    parameters: result.manifest.parameters,
    modelBytes: result.modelBytes,
  };
  if (options.json === true) printJson(summary);
  else {
    log(`exported a ${summary.role} brick (${summary.parameters} parameters)`);
    printText(summary.out);
  }
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export a trained student checkpoint as a brick directory (Hugging Face ONNX layout)')
    .argument('<checkpoint>', 'checkpoint directory (model.safetensors, student.json, tokenizer files)')
    .option('--out <dir>', 'brick directory to write (replaced atomically)')
    .option('--json', 'print one JSON object on stdout')
    .action(runExport);
}
