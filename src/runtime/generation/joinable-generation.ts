/**
 * Continuous batching: a generation that rows JOIN while it runs. A row that arrives while others
 * decode does not wait for them to end: at the next step boundary the rows that arrived are
 * prefilled in their own forward (among themselves, after their cached prompt prefix where usable),
 * then their cache is merged with the running batch's (`DecoderModel.joinRows`): the shorter past is
 * left-padded, with mask 0 there, exactly as generate() left-pads shorter prompts. From then on they
 * decode in the same forward as the others.
 *
 * Each row keeps what is its own: its budget and cancellation (a PerRowLimitCriterion that grows as
 * rows join), its logits processors (a growing PerRowProcessors) and its result, which is delivered
 * as soon as the row finishes; the row then leaves the batch (`selectRows`), the others go on. The
 * generation ends when no row is left; then it accepts no more rows (`accepts` says so) and a caller
 * starts a new one. At most `maxRows` rows decode at once; up to `maxWaiting` more wait to join, and
 * join as soon as rows leave (no trip back to the caller's queue).
 *
 * The loop's row mechanics (prompt batches, steps, processors, sampling, stopping) are generate.ts's
 * own functions, so a row that joins gets what running it alone gives (greedy: the same tokens).
 */
import { HeldCache, lastPositionLogits, validateDecoderBatch, type DecoderModel } from './decoder-model.js';
import {
  advanceRow,
  prefill,
  stepBatch,
  toResult,
  validatePrompts,
  type GenerationResult,
  type Row,
} from './generate.js';
import {
  buildGenerationParts,
  type GenerationOptions,
  type GenerationParts,
  type PromptPrefix,
} from './generation-options.js';
import type { LogitsProcessor } from './logits-processors.js';
import { PerRowLimitCriterion, PerRowProcessors } from './per-row.js';

/** A row asking to join: its prompt and what is its own. */
export interface JoiningRow {
  prompt: readonly number[];
  /** The most tokens this row generates. */
  maxNewTokens: number;
  /** This row's own logits processors (after the shared ones). */
  processors?: readonly LogitsProcessor[];
  /** Once aborted, the row stops at its next step and its result is delivered (`length`). */
  signal?: AbortSignal;
}

export interface JoinedResult extends GenerationResult {
  /** This row's share of the CPU time of the forwards it was in (0 without `cpuClock`). */
  cpuMs: number;
}

/** Settings every row shares: what generate() takes, less the per-row and per-call parts. */
export type SharedGenerationOptions = Omit<
  GenerationOptions,
  'logitsProcessors' | 'stoppingCriteria' | 'signal' | 'prefix' | 'onToken'
>;

export interface JoinableGenerationOptions {
  generation: SharedGenerationOptions;
  /** Most rows decoding at once. */
  maxRows: number;
  /** Most rows waiting to join while `maxRows` decode (default 0). */
  maxWaiting?: number;
  /** CPU milliseconds so far (a forward's CPU time is shared among its rows); none: cpuMs is 0. */
  cpuClock?: () => number;
}

interface Member {
  row: Row;
  cpuMs: number;
  resolve(result: JoinedResult): void;
  reject(reason: unknown): void;
}

/** Rows that asked to join together (one caller's batch), with the prefix their prompts share. */
interface Arrival {
  members: Member[];
  prefix?: PromptPrefix;
}

export class JoinableGeneration<Cache> {
  private readonly parts: GenerationParts;
  private readonly processors = new PerRowProcessors();
  private readonly limits = new PerRowLimitCriterion();
  private live: Member[] = [];
  private arrivals: Arrival[] = [];
  /** Rows being prefilled now (out of `arrivals`, not yet in `live`). */
  private admitting: Member[] = [];
  /** Rows asked to join and not yet in `live` (arrivals, and those being prefilled). */
  private joining = 0;
  private readonly cache: HeldCache<Cache>;
  private state: 'idle' | 'running' | 'ended' = 'idle';
  private nextRow = 0;
  /** Forwards run (prefills and steps), and prefills merged into a running batch: for tests and metrics. */
  forwards = 0;
  merges = 0;

  constructor(
    private readonly model: DecoderModel<Cache>,
    private readonly options: JoinableGenerationOptions,
  ) {
    if (model.selectRows === undefined || model.joinRows === undefined)
      throw new Error('a joinable generation needs a model that can select and join cache rows');
    if (!Number.isInteger(options.maxRows) || options.maxRows < 1)
      throw new Error(`maxRows must be a positive integer, got ${options.maxRows}`);
    this.cache = new HeldCache(model);
    this.parts = buildGenerationParts(
      { ...options.generation, logitsProcessors: [this.processors], stoppingCriteria: [this.limits] },
      model,
    );
  }

  /** Rows decoding or waiting to join. */
  get rows(): number {
    return this.live.length + this.joining;
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Whether `count` more rows may join now (the generation has not ended, and the cap leaves room). */
  accepts(count: number): boolean {
    return (
      this.state !== 'ended' && this.rows + count <= this.options.maxRows + (this.options.maxWaiting ?? 0)
    );
  }

  /**
   * Rows join at the next step boundary (at once when the generation is idle); each promise resolves
   * with that row's result when the row finishes, or rejects if the model fails.
   */
  join(rows: readonly JoiningRow[], prefix?: PromptPrefix): Promise<JoinedResult>[] {
    if (!this.accepts(rows.length))
      throw new Error(
        `${rows.length} row(s) cannot join: the generation ${this.ended ? 'has ended' : `holds ${this.rows} rows (${this.options.maxRows} decoding, ${this.options.maxWaiting ?? 0} waiting at most)`}`,
      );
    validatePrompts(
      rows.map((row) => row.prompt),
      this.model.vocabSize,
    );
    const members: Member[] = [];
    const promises = rows.map(
      (joining) =>
        new Promise<JoinedResult>((resolve, reject) => {
          const index = this.nextRow;
          this.nextRow += 1;
          this.processors.add(joining.processors ?? []);
          this.limits.add({ maxNewTokens: joining.maxNewTokens, signal: joining.signal });
          const row: Row = {
            index,
            prompt: joining.prompt,
            tokens: [...joining.prompt],
            generated: [],
            logProbability: 0,
            minTokenLogProbability: 0,
            mask: [],
            stop: null,
          };
          members.push({ row, cpuMs: 0, resolve, reject });
        }),
    );
    this.arrivals.push(prefix === undefined ? { members } : { members, prefix });
    this.joining += members.length;
    if (this.state === 'idle') {
      this.state = 'running';
      void this.run();
    }
    return promises;
  }

  private async run(): Promise<void> {
    try {
      while (true) {
        if (this.arrivals.length > 0 && this.live.length < this.options.maxRows) await this.admit();
        this.settleFinished();
        // Checked and ended in one synchronous turn: a join after this point starts a new generation.
        if (this.live.length === 0 && this.arrivals.length === 0) break;
        if (this.live.length > 0) await this.step();
      }
    } catch (error) {
      const waiting = this.arrivals.flatMap((arrival) => arrival.members);
      for (const member of [...this.live, ...this.admitting, ...waiting]) member.reject(error);
      this.live = [];
      this.admitting = [];
      this.arrivals = [];
    } finally {
      this.state = 'ended';
      this.cache.hold(undefined);
    }
  }

  /** Prefills the rows that arrived (one forward per distinct prefix) and merges them into the batch. */
  private async admit(): Promise<void> {
    // Rows join in arrival order while there is room; the rest wait for the next step boundary.
    let room = this.options.maxRows - this.live.length;
    const byPrefix = new Map<PromptPrefix | undefined, Member[]>();
    while (room > 0 && this.arrivals.length > 0) {
      const arrival = this.arrivals[0]!;
      const taken = arrival.members.splice(0, room);
      if (arrival.members.length === 0) this.arrivals.shift();
      const started = taken.filter((member) => !this.endIfAborted(member));
      room -= started.length;
      if (started.length > 0)
        byPrefix.set(arrival.prefix, [...(byPrefix.get(arrival.prefix) ?? []), ...started]);
    }
    this.admitting = [...byPrefix.values()].flat();
    for (const [prefix, members] of byPrefix) {
      const prefilled = new HeldCache(this.model);
      const rows = members.map((member) => member.row);
      const options = prefix === undefined ? this.options.generation : { ...this.options.generation, prefix };
      await this.metered(members, () => prefill(this.model, rows, this.parts, options, prefilled));
      this.merge(members, prefilled.current!);
    }
    this.admitting = [];
  }

  /** A row whose signal aborted before it ran: delivered at once, no tokens (its caller sees the signal). */
  private endIfAborted(member: Member): boolean {
    if (this.limits.check({ generated: member.row.generated, row: member.row.index }) === null) return false;
    member.row.stop = { reason: 'length' };
    this.joining -= 1;
    member.resolve({ ...toResult(member.row, this.options.generation.decode), cpuMs: 0 });
    return true;
  }

  /** The prefilled rows join the batch: caches merged, the shorter past left-padded (mask 0). */
  private merge(members: Member[], cache: Cache): void {
    this.joining -= members.length;
    if (this.live.length === 0) {
      this.cache.hold(cache);
      this.live = members;
      return;
    }
    const merged = this.model.joinRows!(this.cache.current!, cache);
    this.model.releaseCache?.(cache);
    this.cache.hold(merged);
    this.merges += 1;
    this.live = [...this.live, ...members];
    const length = Math.max(...this.live.map((member) => member.row.mask.length));
    for (const { row } of this.live)
      if (row.mask.length < length)
        row.mask = new Array<number>(length - row.mask.length).fill(0).concat(row.mask);
  }

  /** Delivers the rows that finished and drops them from the batch. */
  private settleFinished(): void {
    const running = this.live.filter((member) => member.row.stop === null);
    if (running.length === this.live.length) return;
    for (const member of this.live)
      if (member.row.stop !== null)
        member.resolve({ ...toResult(member.row, this.options.generation.decode), cpuMs: member.cpuMs });
    const indices = running.map((member) => this.live.indexOf(member));
    this.live = running;
    if (running.length === 0) {
      this.cache.hold(undefined);
      return;
    }
    // The leading positions every remaining row masks (left padding only rows now gone needed) are
    // cut in the same copy: else the past grows a position a step for as long as rows keep joining.
    const count = this.model.dropPastPositions === undefined ? 0 : this.sharedPadding();
    if (count === 0) this.cache.hold(this.model.selectRows!(this.cache.current!, indices));
    else {
      this.cache.hold(this.model.dropPastPositions!(this.cache.current!, count, indices));
      for (const { row } of running) row.mask = row.mask.slice(count);
    }
  }

  /** Leading positions that every row in the batch masks. */
  private sharedPadding(): number {
    const leading = (mask: readonly number[]) => {
      const first = mask.indexOf(1);
      return first < 0 ? mask.length : first;
    };
    return Math.min(...this.live.map((member) => leading(member.row.mask)));
  }

  /** One decode step for every row in the batch. */
  private async step(): Promise<void> {
    const rows = this.live.map((member) => member.row);
    const batch = stepBatch(rows, this.parts.padTokenId, rows[0]!.mask.length);
    validateDecoderBatch(batch);
    const output = await this.metered(this.live, () => this.model.forward(batch, this.cache.current));
    this.cache.hold(output.cache);
    const logits = lastPositionLogits(output.logits, rows.length, batch.length, this.model.vocabSize);
    rows.forEach((row, position) => {
      if (row.stop === null) advanceRow(row, logits[position]!, this.parts, this.options.generation);
    });
  }

  /** Runs one forward, sharing its CPU time equally among the rows in it. */
  private async metered<Result>(members: readonly Member[], forward: () => Promise<Result>): Promise<Result> {
    const clock = this.options.cpuClock;
    const before = clock?.() ?? 0;
    const result = await forward();
    this.forwards += 1;
    const share = ((clock?.() ?? 0) - before) / members.length;
    for (const member of members) member.cpuMs += share;
    return result;
  }
}
