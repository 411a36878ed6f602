/**
 * Stopping criteria decide, after each appended token, whether a row is finished and why.
 * They run in order; the first that fires names the finish reason.
 */

export type FinishReason = 'eos' | 'length' | 'stop';

export interface RowState {
  /** Tokens generated so far by this row (the last one just appended). */
  generated: readonly number[];
  /** Index of the row's prompt in the caller's list (per-row criteria of a batch read it). */
  row?: number;
}

export interface StopDecision {
  reason: FinishReason;
  /** The stop string that fired (reason `stop`). */
  stopString?: string;
}

export interface StoppingCriterion {
  readonly name: string;
  check(row: RowState): StopDecision | null;
}

export class MaxNewTokensCriterion implements StoppingCriterion {
  readonly name = 'max-new-tokens';
  constructor(private readonly maxNewTokens: number) {
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
      throw new Error(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  }
  check(row: RowState): StopDecision | null {
    return row.generated.length >= this.maxNewTokens ? { reason: 'length' } : null;
  }
}

export class EosTokenCriterion implements StoppingCriterion {
  readonly name = 'eos-token';
  private readonly eos: Set<number>;
  constructor(eosTokenIds: readonly number[]) {
    this.eos = new Set(eosTokenIds);
  }
  check(row: RowState): StopDecision | null {
    const last = row.generated.at(-1);
    return last !== undefined && this.eos.has(last) ? { reason: 'eos' } : null;
  }
}

/**
 * Fires when the decoded tail of the generated tokens contains a stop string. Only a tail
 * is decoded (enough tokens to hold the longest stop string, assuming every token decodes to
 * at least one character, plus slack for tokens that decode to nothing or to partial bytes),
 * so the cost per step does not grow with the output.
 */
export class StopStringsCriterion implements StoppingCriterion {
  readonly name = 'stop-strings';
  private readonly window: number;

  constructor(
    private readonly stopStrings: readonly string[],
    private readonly decode: (tokens: readonly number[]) => string,
  ) {
    if (stopStrings.some((stop) => stop === '')) throw new Error('a stop string cannot be empty');
    this.window = Math.max(0, ...stopStrings.map((stop) => stop.length)) + 8;
  }

  check(row: RowState): StopDecision | null {
    if (this.stopStrings.length === 0 || row.generated.length === 0) return null;
    const tail = this.decode(row.generated.slice(-this.window));
    for (const stop of this.stopStrings) if (tail.includes(stop)) return { reason: 'stop', stopString: stop };
    return null;
  }
}
