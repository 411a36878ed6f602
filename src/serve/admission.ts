/**
 * The bounded queue in front of the chains: at most `concurrency` run at once and at most
 * `queueSize` wait; a request beyond that is refused at once (the server answers 429 with
 * `retry-after`) instead of piling up. Built on p-limit, whose active and pending counts are
 * exact at every moment.
 */
import pLimit, { type LimitFunction } from 'p-limit';

export class QueueFullError extends Error {
  constructor(
    readonly running: number,
    readonly waiting: number,
  ) {
    super(`the server is at capacity (${running} running, ${waiting} waiting); retry later`);
    this.name = 'QueueFullError';
  }
}

export class AdmissionQueue {
  private readonly limit: LimitFunction;

  constructor(
    readonly concurrency: number,
    readonly queueSize: number,
  ) {
    this.limit = pLimit(concurrency);
  }

  get running(): number {
    return this.limit.activeCount;
  }

  get waiting(): number {
    return this.limit.pendingCount;
  }

  /** Runs `task` when a slot frees; throws QueueFullError synchronously when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running + this.waiting >= this.concurrency + this.queueSize)
      throw new QueueFullError(this.running, this.waiting);
    return this.limit(task);
  }
}
