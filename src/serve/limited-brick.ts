/**
 * A main-thread brick (remote or reference) behind a p-limit: at most `concurrency` calls to
 * it run at once across all requests; the others wait their turn. A cancelled request makes
 * no further calls.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { abortReason } from '../runtime/abort-reason.js';
import type {
  Brick,
  BrickKind,
  BrickResult,
  BrickRole,
  DecomposeInput,
  DecomposeOutput,
  NextSubquestionInput,
  NextSubquestionOutput,
  SolveInput,
  SolveOutput,
} from '../runtime/bricks/brick.js';

export class LimitedBrick implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly spec: string;
  readonly kind: BrickKind;
  readonly role?: BrickRole;
  readonly model: string;
  decompose?: (input: DecomposeInput) => Promise<BrickResult<DecomposeOutput>>;
  nextSubquestion?: (input: NextSubquestionInput) => Promise<BrickResult<NextSubquestionOutput>>;
  solve?: (input: SolveInput) => Promise<BrickResult<SolveOutput>>;
  private readonly limit: LimitFunction;

  constructor(
    readonly inner: Brick,
    concurrency: number,
  ) {
    this.spec = inner.spec;
    this.kind = inner.kind;
    this.role = inner.role;
    this.model = inner.model;
    this.limit = pLimit(concurrency);
    const { decompose, nextSubquestion, solve } = inner;
    if (decompose !== undefined)
      this.decompose = (input) => this.run(input.signal, () => decompose.call(inner, input));
    if (nextSubquestion !== undefined)
      this.nextSubquestion = (input) => this.run(input.signal, () => nextSubquestion.call(inner, input));
    if (solve !== undefined) this.solve = (input) => this.run(input.signal, () => solve.call(inner, input));
  }

  /** Calls waiting for a free slot. */
  get waiting(): number {
    return this.limit.pendingCount;
  }

  private run<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    return this.limit(() => {
      if (signal?.aborted === true) throw abortReason(signal);
      return call();
    });
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
