import { UserError } from '../../errors/user-error.js';

/**
 * The remote fine-tuning job ended failed or cancelled. It carries no exit code: the CLI maps
 * this class to its own (src/cli/main.ts).
 */
export class RemoteTrainingFailedError extends UserError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'RemoteTrainingFailedError';
  }
}
