/**
 * The eval's brick-call cache: every successful brick call is stored in an fsynced journal
 * (`cache.jsonl`) under a content hash of (brick identity, chain scope, method, input). A later
 * identical call — in a rerun, a resumed run, or another eval sharing the journal — is served
 * from the journal: it costs $0, takes no time, and reports what it would have cost as `savedUsd`.
 *
 * The scope is the chain's definition (its bricks, mode and cap; not its name): calls are not
 * shared between different chains of one suite. Sharing would save a little (two chains with
 * the same decomposer decompose alike) but would make a first run's per-chain dollars depend on
 * which chain happened to call first under concurrency, so reports would neither compare chains
 * fairly nor be reproducible.
 *
 * One exception keeps a resumed eval's report equal to an uninterrupted one: a call paid for by
 * an example of this same run that was killed before its trace landed is replayed to that same
 * example as the paid call it was (its cost and latency as recorded, not cached), once. The
 * money was spent on that example, and no other trace reports it.
 *
 * Calls that throw are not stored (they are retried next time); concurrent identical calls
 * are made once, the others waiting for it and counting as cache hits.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { openJournal, type Journal } from '../data/jsonl.js';
import { usageSchema, type Chain } from '../data/schemas.js';
import type { Brick, BrickCallReport, BrickKind, BrickRole } from '../runtime/bricks/brick.js';

export type CachedMethod = 'decompose' | 'nextSubquestion' | 'solve';
const cachedMethods: readonly CachedMethod[] = ['decompose', 'nextSubquestion', 'solve'];

/** Who a call was made for: the run (one traces journal) and the (chain, dataset, example). */
export const callOwnerSchema = z.strictObject({
  run: z.string().min(1),
  chain: z.string().min(1),
  dataset: z.string().min(1),
  exampleId: z.string().min(1),
});
export type CallOwner = z.infer<typeof callOwnerSchema>;

export const cacheEntrySchema = z.strictObject({
  key: z.string().min(1),
  brick: z.string().min(1),
  method: z.enum(cachedMethods as [CachedMethod, ...CachedMethod[]]),
  owner: callOwnerSchema,
  /** The brick's result as returned (a BrickResult: the method's output and its call report). */
  result: z.looseObject({
    usage: usageSchema,
    latencyMs: z.number().nonnegative(),
    costUsd: z.number().nonnegative(),
    raw: z.string(),
    warnings: z.array(z.string()),
    finishReason: z.string(),
  }),
  createdAt: z.string(),
});
export type CacheEntry = z.infer<typeof cacheEntrySchema>;

/**
 * JSON with object keys sorted, so that equal inputs hash equally whatever order their keys
 * were written in. Hand-written: none of the installed packages offers canonical JSON.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (key, item: unknown) => {
    if (typeof item === 'number') return infinityAsString(key, item);
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const record = item as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, record[key]]),
    );
  });
}

/**
 * A JSON replacer that writes ±Infinity as "Infinity" / "-Infinity" (a cascade's threshold may be
 * infinite; JSON.stringify would write null, which reads back as no threshold at all).
 */
export function infinityAsString(_key: string, item: unknown): unknown {
  return typeof item === 'number' && !Number.isFinite(item) && !Number.isNaN(item) ? String(item) : item;
}

/**
 * The scope of a chain's calls: its definition without its name (see the header). A cascade's
 * route is part of it: cascades that differ only in their route would otherwise share calls, and
 * the first to run would pay for the others (its eval probes share the cascade's scope).
 */
export function chainScope(chain: Chain): string {
  const { name: _name, ...definition } = chain;
  return canonicalJson(definition);
}

/** Where a call is made: the brick's identity and the chain scope. */
export interface CallSite {
  identity: string;
  scope: string;
}

/** The cache key of one call: sha256 over the call site, the method and the input (without its AbortSignal). */
export function callKey(site: CallSite, method: CachedMethod, input: object): string {
  const { signal: _signal, ...rest } = input as { signal?: unknown };
  return createHash('sha256')
    .update(canonicalJson({ identity: site.identity, scope: site.scope, method, input: rest }))
    .digest('hex');
}

function sameOwner(left: CallOwner, right: CallOwner): boolean {
  return (
    left.run === right.run &&
    left.chain === right.chain &&
    left.dataset === right.dataset &&
    left.exampleId === right.exampleId
  );
}

type Result = BrickCallReport & Record<string, unknown>;

export class BrickCallCache {
  private readonly entries = new Map<string, CacheEntry>();
  /** Keys of entries read from disk at open (written by an earlier process). */
  private readonly fromDisk = new Set<string>();
  private readonly replayed = new Set<string>();
  private readonly inFlight = new Map<string, Promise<CacheEntry>>();
  /** Calls served from the cache, and calls made, since open. */
  hits = 0;
  misses = 0;

  private constructor(private readonly journal: Journal<CacheEntry>) {
    for (const entry of journal.existing) {
      this.entries.set(entry.key, entry);
      this.fromDisk.add(entry.key);
    }
  }

  static async open(file: string): Promise<BrickCallCache> {
    return new BrickCallCache(await openJournal(file, cacheEntrySchema));
  }

  get file(): string {
    return this.journal.file;
  }

  /** Entries stored (from disk and new). */
  get size(): number {
    return this.entries.size;
  }

  /** A view of `brick` whose calls go through the cache on behalf of `owner`. */
  bind(brick: Brick, site: CallSite, owner: CallOwner): Brick {
    return new CachedBrick(this, brick, site, owner);
  }

  async call(
    brick: Brick,
    site: CallSite,
    method: CachedMethod,
    input: object,
    owner: CallOwner,
  ): Promise<Result> {
    const key = callKey(site, method, input);
    const stored = this.entries.get(key);
    if (stored !== undefined) return this.serve(stored, owner);
    const running = this.inFlight.get(key);
    if (running !== undefined) {
      const entry = await running.catch(() => undefined);
      if (entry !== undefined) return this.serve(entry, owner);
    }
    const invoke = brick[method] as unknown as (input: object) => Promise<Result>;
    const call = invoke.call(brick, input).then(async (result) => {
      const entry = cacheEntrySchema.parse({
        key,
        brick: brick.spec,
        method,
        owner,
        result: JSON.parse(JSON.stringify(result)) as unknown,
        createdAt: new Date().toISOString(),
      });
      this.entries.set(key, entry);
      await this.journal.append(entry);
      return { entry, result };
    });
    const entryOnly = call.then(({ entry }) => entry);
    // A failed call is its caller's error; waiters make their own call, so nobody else handles it.
    entryOnly.catch(() => undefined);
    this.inFlight.set(key, entryOnly);
    try {
      const { result } = await call;
      this.misses += 1;
      return result;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private serve(entry: CacheEntry, owner: CallOwner): Result {
    const result = structuredClone(entry.result) as Result;
    if (this.fromDisk.has(entry.key) && !this.replayed.has(entry.key) && sameOwner(entry.owner, owner)) {
      this.replayed.add(entry.key);
      return result;
    }
    this.hits += 1;
    return {
      ...result,
      latencyMs: 0,
      costUsd: 0,
      savedUsd: entry.result.costUsd,
      cached: true,
      cpuMs: result.cpuMs === undefined ? undefined : 0,
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.inFlight.values());
    await this.journal.close();
  }
}

/** A brick seen through the cache for one owner (one example of one chain). */
export class CachedBrick implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly spec: string;
  readonly kind: BrickKind;
  readonly role?: BrickRole;
  readonly model: string;
  decompose?: Brick['decompose'];
  nextSubquestion?: Brick['nextSubquestion'];
  solve?: Brick['solve'];

  constructor(cache: BrickCallCache, inner: Brick, site: CallSite, owner: CallOwner) {
    this.spec = inner.spec;
    this.kind = inner.kind;
    this.role = inner.role;
    this.model = inner.model;
    for (const method of cachedMethods) {
      if (typeof inner[method] !== 'function') continue;
      const through = (input: object) => cache.call(inner, site, method, input, owner);
      // Each method's output type is the one its inner brick method returns.
      (this as Record<CachedMethod, unknown>)[method] = through;
    }
  }
}
