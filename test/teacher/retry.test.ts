import { describe, expect, it } from 'vitest';
import { TeacherApiCallError, TeacherRetryError } from '../../src/teacher/errors.js';
import { lookupPrice, priceUsage } from '../../src/teacher/pricing.js';
import { RateLimiter } from '../../src/teacher/rate-limiter.js';
import {
  backoffDelayMs,
  defaultRetryPolicy,
  parseRetryAfterMs,
  withRetries,
} from '../../src/teacher/retry.js';

describe('retry policy', () => {
  it('bounds full-jitter backoff by the exponential ceiling and maxDelayMs', () => {
    const policy = { ...defaultRetryPolicy, initialDelayMs: 100, maxDelayMs: 1000 };
    expect([0, 1, 2, 3, 10].map((index) => backoffDelayMs(index, policy, () => 0.999))).toEqual([
      99, 199, 399, 799, 999,
    ]);
    expect(backoffDelayMs(5, policy, () => 0)).toBe(0);
  });

  it('reads retry-after-ms, retry-after seconds and an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '250' }), now)).toBe(250);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfterMs({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }, now)).toBe(5000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
  });

  it('ignores a server wait longer than maxRetryAfterMs and backs off instead', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls += 1;
        if (calls === 1)
          throw new TeacherApiCallError({
            status: 429,
            url: 'u',
            message: 'slow down',
            retryAfterMs: 3_600_000,
          });
        return 'done';
      },
      {
        policy: { ...defaultRetryPolicy, initialDelayMs: 50 },
        sleep: async (ms) => void delays.push(ms),
        random: () => 0.5,
      },
    );
    expect(result).toBe('done');
    expect(delays).toEqual([25]);
  });

  it('stops at the first non-retryable error', async () => {
    let calls = 0;
    const failure = withRetries(
      async () => {
        calls += 1;
        if (calls === 1) throw new TeacherApiCallError({ status: 503, url: 'u', message: 'busy' });
        throw new TeacherApiCallError({ status: 401, url: 'u', message: 'bad key' });
      },
      { policy: defaultRetryPolicy, sleep: async () => undefined },
    );
    await expect(failure).rejects.toBeInstanceOf(TeacherRetryError);
    await expect(failure).rejects.toMatchObject({ reason: 'errorNotRetryable' });
    expect(calls).toBe(2);
  });
});

describe('rate limiter', () => {
  it('spaces requests to the requests-per-minute limit', async () => {
    let clock = 0;
    const slept: number[] = [];
    const limiter = new RateLimiter(
      { requestsPerMinute: 2 },
      () => clock,
      async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    );
    for (let index = 0; index < 5; index += 1) await limiter.acquire(1);
    expect(slept).toEqual([60_000, 60_000]);
  });

  it('waits for token budget, using settled real counts', async () => {
    let clock = 0;
    const limiter = new RateLimiter(
      { tokensPerMinute: 100 },
      () => clock,
      async (ms) => void (clock += ms),
    );
    const first = await limiter.acquire(90);
    first.settle(10); // the response used fewer tokens than estimated
    await limiter.acquire(80);
    expect(clock).toBe(0);
    await limiter.acquire(50);
    expect(clock).toBe(60_000);
  });
});

describe('pricing', () => {
  it('uses the longest price-table prefix for dated model names', () => {
    expect(lookupPrice('gpt-4o-mini-2024-07-18').entry).toBe('gpt-4o-mini');
    expect(lookupPrice('gpt-4o-2024-08-06').entry).toBe('gpt-4o');
    expect(
      priceUsage({ inputTokens: 1_000_000, outputTokens: 500_000 }, lookupPrice('gpt-4o-mini').price, 0.5),
    ).toBeCloseTo(0.225);
  });
});
