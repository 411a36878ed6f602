/**
 * Optional requests-per-minute and tokens-per-minute limits over a sliding window.
 * Hand-written: p-limit bounds concurrency, not rate, and the token side needs the
 * estimate-then-settle step that generic rate limiters lack.
 */
import { sleep as defaultSleep } from './retry.js';

export interface RateLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** The window length; one minute unless a test shortens it. */
  windowMs?: number;
}

interface Entry {
  at: number;
  tokens: number;
}

export interface RateTicket {
  /** Replaces the estimated token count by the real one once the response is in. */
  settle(actualTokens: number): void;
}

export class RateLimiter {
  private readonly entries: Entry[] = [];
  private readonly windowMs: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = defaultSleep,
  ) {
    this.windowMs = limits.windowMs ?? 60_000;
  }

  get enabled(): boolean {
    return this.limits.requestsPerMinute !== undefined || this.limits.tokensPerMinute !== undefined;
  }

  /** Waits until one more request of about `estimatedTokens` fits in the window (callers are served in order). */
  acquire(estimatedTokens: number, signal?: AbortSignal): Promise<RateTicket> {
    const entry: Entry = { at: 0, tokens: estimatedTokens };
    const ticket: RateTicket = { settle: (actual) => (entry.tokens = actual) };
    if (!this.enabled) return Promise.resolve(ticket);
    const turn = this.queue.then(() => this.waitForRoom(entry, signal));
    this.queue = turn.catch(() => undefined);
    return turn.then(() => ticket);
  }

  private async waitForRoom(entry: Entry, signal?: AbortSignal): Promise<void> {
    while (true) {
      const now = this.now();
      while (this.entries.length > 0 && this.entries[0]!.at <= now - this.windowMs) this.entries.shift();
      const delay = this.delayUntilRoom(entry.tokens, now);
      if (delay <= 0) break;
      await this.sleep(delay, signal);
    }
    entry.at = this.now();
    this.entries.push(entry);
  }

  private delayUntilRoom(tokens: number, now: number): number {
    let delay = 0;
    const { requestsPerMinute, tokensPerMinute } = this.limits;
    if (requestsPerMinute !== undefined && this.entries.length >= requestsPerMinute) {
      const oldest = this.entries[this.entries.length - requestsPerMinute]!;
      delay = Math.max(delay, oldest.at + this.windowMs - now);
    }
    if (tokensPerMinute !== undefined) {
      let used = this.entries.reduce((sum, item) => sum + item.tokens, 0);
      // Free the oldest entries until this request fits; a request bigger than the whole budget waits for an empty window.
      for (const item of this.entries) {
        if (used + tokens <= tokensPerMinute) break;
        used -= item.tokens;
        delay = Math.max(delay, item.at + this.windowMs - now);
      }
    }
    return delay;
  }
}
