import { UserError } from '../errors/user-error.js';

/**
 * A NaN or exploding loss: the run stops without writing a checkpoint of the bad state.
 * It carries no exit code: the CLI maps this class to its own (src/cli/main.ts).
 */
export class TrainingDivergedError extends UserError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'TrainingDivergedError';
  }
}
