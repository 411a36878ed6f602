/** The serve config's batching limits: defaults, overrides, and one clear error for a bad value. */
import { describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../src/serve/serve-config.js';

const chains = [{ name: 'ref/ref', decomposer: 'reference', solver: 'reference', mode: 'static' as const }];

describe('limits.batchSize and limits.batchWaitMs', () => {
  it('default to batches of 8 with a 5 ms window, and can be overridden (1 turns batching off)', () => {
    expect(resolveServeConfig({ chains }).limits).toMatchObject({ batchSize: 8, batchWaitMs: 5 });
    expect(resolveServeConfig({ chains, limits: { batchSize: 1, batchWaitMs: 0 } }).limits).toMatchObject({
      batchSize: 1,
      batchWaitMs: 0,
    });
  });

  it('refuse a batch size under 1 or a negative or fractional wait, naming the field', () => {
    expect(() => resolveServeConfig({ chains, limits: { batchSize: 0 } }, 'serve.json')).toThrow(
      /serve\.json: .*limits\.batchSize must be > 0/,
    );
    expect(() => resolveServeConfig({ chains, limits: { batchWaitMs: -1 } }, 'serve.json')).toThrow(
      /limits\.batchWaitMs must be >= 0/,
    );
    expect(() => resolveServeConfig({ chains, limits: { batchWaitMs: 2.5 } }, 'serve.json')).toThrow(
      /limits\.batchWaitMs must be a whole number/,
    );
  });

  it('limits.continuousBatching is off by default, can be turned on, and must be a boolean', () => {
    expect(resolveServeConfig({ chains }).limits.continuousBatching).toBe(false);
    expect(
      resolveServeConfig({ chains, limits: { continuousBatching: true } }).limits.continuousBatching,
    ).toBe(true);
    expect(() =>
      resolveServeConfig(
        { chains, limits: { continuousBatching: 'yes' as unknown as boolean } },
        'serve.json',
      ),
    ).toThrow(/limits\.continuousBatching must be true or false/);
  });
});
