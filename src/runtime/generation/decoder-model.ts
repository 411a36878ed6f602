/**
 * The contract between the generation loop and a causal decoder. The loop owns tokens, masks
 * and positions; the model owns its key/value cache, which the loop passes back untouched.
 * The ONNX decoder (a map of named `past_key_values.{i}.key|value` tensors built from the
 * session's input metadata) implements this; so does any test double.
 */

/**
 * One forward step for `batchSize` rows of `length` new tokens each, row-major.
 * `attentionMask` covers the cached positions and the new ones: `batchSize × (pastLength + length)`.
 * `positionIds` gives each new token's position within its row (padding excluded).
 */
export interface DecoderBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  positionIds: BigInt64Array;
  batchSize: number;
  /** New tokens per row in this step. */
  length: number;
  /** Tokens per row already in the cache (0 on the first step). */
  pastLength: number;
}

export interface DecoderOutput<Cache> {
  /**
   * Row-major `(batchSize, positions, vocabSize)` where `positions` is either `length` (all
   * positions) or 1 (the last position only); the loop reads the last position of each row.
   */
  logits: Float32Array;
  cache: Cache;
}

export interface DecoderModel<Cache = unknown> {
  readonly vocabSize: number;
  /** Token ids that end a sequence (from `generation_config.json` for exported bricks). */
  readonly eosTokenIds: readonly number[];
  /** The id fed for padding; defaults to the first end-of-sequence id. */
  readonly padTokenId?: number;
  /** `cache` is undefined on the first step of a generation. */
  forward(batch: DecoderBatch, cache: Cache | undefined): Promise<DecoderOutput<Cache>>;
  /** Frees a cache the loop no longer needs (native tensors); optional. */
  releaseCache?(cache: Cache): void;
  /**
   * A cache holding the given rows of `cache`, in that order (a row may repeat): finished rows leave
   * the batch, and one prefilled prompt becomes several rows. Optional: without it the loop keeps
   * finished rows in the batch and prefills every row.
   */
  selectRows?(cache: Cache, rows: readonly number[]): Cache;
  /**
   * One cache holding the rows of `first` then the rows of `second` (continuous batching: rows that
   * join a running generation). The side with the shorter past is left-padded to the longer one's
   * length (padding positions hold anything: the loop masks them with 0, as it masks padded prompts).
   * Neither input is changed or released. Optional: without it no row joins a running generation.
   */
  joinRows?(first: Cache, second: Cache): Cache;
  /**
   * The given rows of `cache` (as `selectRows`) without their first `count` past positions, in one
   * copy: once the rows that made the others' left padding have left, the padding every remaining
   * row masks is cut, so that the past a step attends over does not grow for as long as rows keep
   * joining. Optional, with `joinRows`.
   */
  dropPastPositions?(cache: Cache, count: number, rows: readonly number[]): Cache;
}

/**
 * The one cache a generation loop holds. Holding a new one releases the one it replaces to the model
 * (`releaseCache`: the ONNX decoder reuses its buffers), so a cache is released exactly when the loop
 * stops reading it, and never while it is still held.
 */
export class HeldCache<Cache> {
  private held: Cache | undefined;

  constructor(private readonly model: DecoderModel<Cache>) {}

  get current(): Cache | undefined {
    return this.held;
  }

  /** Holds `next` (undefined: nothing), releasing the cache held before unless it is `next` itself. */
  hold(next: Cache | undefined): void {
    if (this.held !== undefined && next !== this.held) this.model.releaseCache?.(this.held);
    this.held = next;
  }
}

/** Checks a batch before it goes to the model: a shape mistake here would corrupt every row. */
export function validateDecoderBatch(batch: DecoderBatch): void {
  const { batchSize, length, pastLength } = batch;
  const problems: string[] = [];
  if (!Number.isInteger(batchSize) || batchSize < 1)
    problems.push(`batchSize ${batchSize} is not a positive integer`);
  if (!Number.isInteger(length) || length < 1) problems.push(`length ${length} is not a positive integer`);
  if (!Number.isInteger(pastLength) || pastLength < 0) problems.push(`pastLength ${pastLength} is negative`);
  if (batch.inputIds.length !== batchSize * length)
    problems.push(`inputIds has ${batch.inputIds.length} entries, expected ${batchSize}×${length}`);
  if (batch.positionIds.length !== batchSize * length)
    problems.push(`positionIds has ${batch.positionIds.length} entries, expected ${batchSize}×${length}`);
  const total = pastLength + length;
  if (batch.attentionMask.length !== batchSize * total)
    problems.push(`attentionMask has ${batch.attentionMask.length} entries, expected ${batchSize}×${total}`);
  if (problems.length > 0) throw new Error(`invalid decoder batch: ${problems.join('; ')}`);
}

/** The logits of the last position of every row, checking the model's output shape. */
export function lastPositionLogits(
  logits: Float32Array,
  batchSize: number,
  length: number,
  vocabSize: number,
): Float32Array[] {
  const perRow = logits.length / batchSize;
  if (perRow !== length * vocabSize && perRow !== vocabSize)
    throw new Error(
      `decoder returned ${logits.length} logits for ${batchSize} rows; expected ${batchSize}×${length}×${vocabSize} ` +
        `(all positions) or ${batchSize}×${vocabSize} (last position only) — check the model's vocabSize`,
    );
  const rows: Float32Array[] = [];
  for (let row = 0; row < batchSize; row += 1) {
    const end = (row + 1) * perRow;
    rows.push(logits.slice(end - vocabSize, end));
  }
  return rows;
}
