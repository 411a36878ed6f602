/**
 * Per-row parts for a batch of unrelated requests in one generation: each row keeps its own
 * logits processors (the copy processors hold per-prompt state), its own token budget and its own
 * cancellation. The loop tells a part which row it is looking at (`context.row`, the prompt's index
 * in the caller's list), and these parts hand the row to what belongs to it.
 */
import type { LogitsProcessor, ProcessorContext } from './logits-processors.js';
import type { RowState, StopDecision, StoppingCriterion } from './stopping-criteria.js';

function rowOf(context: { row?: number }, part: string): number {
  if (context.row === undefined)
    throw new Error(`${part} needs the row index of each call; run it inside generate(), which passes it`);
  return context.row;
}

/** Runs each row's own processors on that row's logits. */
export class PerRowProcessors implements LogitsProcessor {
  readonly name = 'per-row';
  private readonly processors: (readonly LogitsProcessor[])[];
  constructor(processors: readonly (readonly LogitsProcessor[])[] = []) {
    this.processors = [...processors];
  }

  /** A row that joins the generation (joinable-generation.ts); returns its row index. */
  add(processors: readonly LogitsProcessor[]): number {
    return this.processors.push(processors) - 1;
  }

  process(logits: Float32Array, context: ProcessorContext): void {
    const own = this.processors[rowOf(context, 'PerRowProcessors')] ?? [];
    for (const processor of own) processor.process(logits, context);
  }
}

export interface RowLimit {
  /** The most tokens this row may generate. */
  maxNewTokens: number;
  /** Once aborted, the row stops at its next token and leaves the batch (the others go on). */
  signal?: AbortSignal;
}

/** Stops a row at its own budget (reason `length`) or once its own signal aborted. */
export class PerRowLimitCriterion implements StoppingCriterion {
  readonly name = 'per-row-limit';
  private readonly limits: RowLimit[] = [];
  constructor(limits: readonly RowLimit[] = []) {
    for (const limit of limits) this.add(limit);
  }

  /** A row that joins the generation (joinable-generation.ts); returns its row index. */
  add(limit: RowLimit): number {
    if (!Number.isInteger(limit.maxNewTokens) || limit.maxNewTokens < 1)
      throw new Error(`a row's maxNewTokens must be a positive integer, got ${limit.maxNewTokens}`);
    return this.limits.push(limit) - 1;
  }

  check(row: RowState): StopDecision | null {
    const limit = this.limits[rowOf(row, 'PerRowLimitCriterion')];
    if (limit === undefined) return null;
    if (limit.signal?.aborted === true) return { reason: 'length' };
    return row.generated.length >= limit.maxNewTokens ? { reason: 'length' } : null;
  }
}
