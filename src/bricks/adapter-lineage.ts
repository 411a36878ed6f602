/**
 * The lineage a LoRA adapter brick (brick.json `kind: "lora-adapter"`) records about its adapter:
 * which base it belongs to (a hash of the base's weights), which adapter it holds now (a hash of the
 * adapter's tensors and settings), its version, how it was made (a combination of parent adapters,
 * `dnc bricks merge`), and the versions it replaced (`dnc bricks update`). The Configurable
 * Foundation Models paper's "combination" and "update" operations on bricks, written down.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** How adapters were combined: PEFT `add_weighted_adapter`'s combination_type. */
export const combinationTypes = ['cat', 'svd'] as const;
export type CombinationType = (typeof combinationTypes)[number];

export const adapterParentSchema = z.strictObject({
  /** The parent brick's directory name. */
  name: z.string().min(1),
  /** The parent brick's directory, absolute, as it was when combined. */
  path: z.string().min(1),
  adapterHash: z.string().min(1),
  weight: z.number(),
  rank: z.number().int().positive(),
  alpha: z.number().positive(),
  /** The modules it adapts (q_proj, …). */
  targets: z.array(z.string().min(1)).min(1),
});

export const adapterCombinationSchema = z.strictObject({
  type: z.enum(combinationTypes),
  /** The rank asked for (`svd` only); `cat`'s rank is the sum of the parents'. */
  rank: z.number().int().positive().optional(),
  parents: z.array(adapterParentSchema).min(1),
});

export const adapterVersionSchema = z.strictObject({
  version: z.number().int().positive(),
  adapterHash: z.string().min(1),
  /** Where that version's adapter came from (a directory), when known. */
  source: z.string().min(1).optional(),
  /** How that version was made, when it was a combination. */
  combination: adapterCombinationSchema.optional(),
  /** ISO time the version was replaced. */
  replacedAt: z.string().min(1),
});

export const adapterLineageSchema = z.strictObject({
  /** sha256 over the base's float32 weights (src/student/pretrained-base.ts `weightsHash`). */
  baseWeightsHash: z.string().min(1),
  adapterHash: z.string().min(1),
  /** 1 for a new adapter brick; each `dnc bricks update` adds 1. */
  version: z.number().int().positive(),
  /** ISO time this version was written. */
  createdAt: z.string().min(1),
  /** Where this version's adapter came from (a directory), when it was not made here. */
  source: z.string().min(1).optional(),
  combination: adapterCombinationSchema.optional(),
  /** Earlier versions, oldest first. */
  history: z.array(adapterVersionSchema).default([]),
});

export type AdapterParent = z.infer<typeof adapterParentSchema>;
export type AdapterCombination = z.infer<typeof adapterCombinationSchema>;
export type AdapterVersion = z.infer<typeof adapterVersionSchema>;
export type AdapterLineage = z.infer<typeof adapterLineageSchema>;

/**
 * sha256 (32 hex digits) of an adapter: its rank, alpha and targets, then every tensor's name and
 * float32 bytes in name order. Two adapters with the same hash change a base the same way; the hash
 * does not depend on file layout, dropout or the base path written in adapter_config.json.
 */
export function adapterHash(
  settings: { rank: number; alpha: number; targets: readonly string[] },
  weights: ReadonlyMap<string, Float32Array>,
): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({ rank: settings.rank, alpha: settings.alpha, targets: [...settings.targets].sort() }),
  );
  for (const name of [...weights.keys()].sort()) {
    const data = weights.get(name)!;
    hash.update(name);
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex').slice(0, 32);
}
