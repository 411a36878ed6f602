/**
 * The two operations on LoRA adapter bricks that the Configurable Foundation Models paper calls
 * combination and update:
 *
 * - `mergeAdapterBricks`: several adapters of one base → one adapter brick whose change to the base
 *   is the weighted sum of theirs (PEFT's "cat", src/export/adapter-combination.ts), recording its
 *   parents (name, path, adapter hash, weight) in brick.json's lineage;
 * - `updateAdapterBrick`: a brick's adapter replaced by a new version of the same base, the old
 *   version's hash and number kept in the lineage's history.
 *
 * Both refuse adapters of another base (weights hash, not directory name) in one line.
 */
import { resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { type AdapterBrickManifest } from '../bricks/adapter-brick-manifest.js';
import {
  adapterHash,
  type AdapterLineage,
  type AdapterParent,
  type CombinationType,
} from '../bricks/adapter-lineage.js';
import { type BrickRole } from '../bricks/brick-manifest.js';
import { type PromptStyle } from '../prompts/index.js';
import {
  type AdapterSource,
  type BaseCache,
  checkReplaceable,
  openAdapterSource,
  writeAdapterBrick,
} from './adapter-brick-files.js';
import { concatenateAdapters, svdCombination, type WeightedAdapter } from './adapter-combination.js';

export interface MergeRequest {
  bricks: readonly string[];
  /** One weight per brick; default 1/n each. */
  weights?: readonly number[];
  outDirectory: string;
  /** `cat` (default): exact, rank Σ r_i; `svd`: the best rank-`rank` approximation of the same sum. */
  combination?: CombinationType;
  /** `svd` only: the rank to keep (default: the largest parent rank, as PEFT). */
  rank?: number;
  /** The role, when no input is a brick that records one (bare PEFT directories do not). */
  role?: BrickRole;
  /** Clock for the lineage's dates (tests). */
  now?: () => Date;
}

export interface MergeResult {
  outDirectory: string;
  manifest: AdapterBrickManifest;
  rank: number;
  targets: string[];
}

function sameBase(sources: readonly AdapterSource[]): void {
  const [first] = sources;
  for (const source of sources.slice(1))
    if (source.baseWeightsHash !== first.baseWeightsHash)
      throw new UserError(
        `${source.directory} adapts another base than ${first.directory} (base weights hash ${source.baseWeightsHash} vs ${first.baseWeightsHash}); combine adapters of one base only`,
      );
}

/** The value every brick that records it agrees on (undefined when none records it); refuses disagreement. */
function agreed<T>(
  sources: readonly AdapterSource[],
  what: string,
  read: (source: AdapterSource) => T | undefined,
): T | undefined {
  const values = sources
    .map((source) => ({ source, value: read(source) }))
    .filter((entry) => entry.value !== undefined);
  const other = values.find((entry) => JSON.stringify(entry.value) !== JSON.stringify(values[0].value));
  if (other !== undefined)
    throw new UserError(
      `${values[0].source.directory} and ${other.source.directory} differ in ${what} (${JSON.stringify(values[0].value)} vs ${JSON.stringify(other.value)}); combine bricks of one ${what} only`,
    );
  return values[0]?.value;
}

function mergeWeights(request: MergeRequest): number[] {
  const count = request.bricks.length;
  if (count < 2) throw new UserError(`dnc bricks merge: give at least two adapter bricks (got ${count})`);
  const weights = request.weights ?? request.bricks.map(() => 1 / count);
  if (weights.length !== count)
    throw new UserError(
      `--weights has ${weights.length} numbers for ${count} adapter bricks; give one weight per brick, e.g. --weights ${request.bricks.map(() => (1 / count).toFixed(2)).join(',')}`,
    );
  if (weights.some((weight) => !Number.isFinite(weight)))
    throw new UserError(`--weights must be finite numbers (got ${weights.join(',')})`);
  return [...weights];
}

/** The merged brick's manifest fields: the role, prompt style and decoding its parents agree on. */
function mergedManifest(sources: readonly AdapterSource[], request: MergeRequest) {
  const role = agreed(sources, 'role', (source) => source.manifest?.role) ?? request.role;
  if (role === undefined)
    throw new UserError(
      'no input is an adapter brick that records its role; give it with --role decomposer|solver',
    );
  const promptStyle: PromptStyle | undefined = agreed(
    sources,
    'prompt style',
    (source) => source.manifest?.promptStyle ?? (source.manifest === undefined ? undefined : 'instruct'),
  );
  const decodings = sources.map((source) => JSON.stringify(source.manifest?.decoding ?? null));
  const decoding = decodings.every((entry) => entry === decodings[0])
    ? sources[0].manifest?.decoding
    : undefined;
  return {
    specificationVersion: 'v1' as const,
    kind: 'lora-adapter' as const,
    role,
    base: sources[0].baseDirectory,
    ...(promptStyle === undefined ? {} : { promptStyle }),
    ...(decoding === undefined ? {} : { decoding }),
  };
}

/** The combined adapter (cat, or svd at the requested rank) and the lineage's combination record. */
function combine(sources: readonly AdapterSource[], weights: readonly number[], request: MergeRequest) {
  const weighted: WeightedAdapter[] = sources.map((source, index) => ({
    ...source.adapter,
    weight: weights[index],
  }));
  const type = request.combination ?? 'cat';
  const rank =
    type === 'svd'
      ? (request.rank ?? Math.max(...weighted.map((parent) => parent.settings.rank)))
      : undefined;
  const combined =
    rank === undefined
      ? concatenateAdapters(sources[0].architecture, weighted)
      : svdCombination(sources[0].architecture, weighted, rank);
  const parents: AdapterParent[] = sources.map((source, index) => ({
    name: source.name,
    path: source.directory,
    adapterHash: source.adapterHash,
    weight: weights[index],
    rank: source.adapter.settings.rank,
    alpha: source.adapter.settings.alpha,
    targets: [...source.adapter.settings.targets],
  }));
  return { combined, combination: { type, ...(rank === undefined ? {} : { rank }), parents } };
}

/** `dnc bricks merge A B … --weights w… --out C` (PEFT's exact "cat" combination, or "svd"). */
export async function mergeAdapterBricks(request: MergeRequest): Promise<MergeResult> {
  const weights = mergeWeights(request);
  if (request.rank !== undefined && request.combination !== 'svd')
    throw new UserError(
      '--rank applies to --combination svd (cat keeps every rank: Σ r_i); add --combination svd or drop --rank',
    );
  const out = resolve(request.outDirectory);
  if (request.bricks.some((brick) => resolve(brick) === out))
    throw new UserError(
      `--out ${request.outDirectory} is one of the bricks to merge; write the merge to a new directory`,
    );
  await checkReplaceable(out);
  const cache: BaseCache = new Map();
  const sources: AdapterSource[] = [];
  for (const brick of request.bricks) sources.push(await openAdapterSource(brick, cache));
  sameBase(sources);
  const manifestFields = mergedManifest(sources, request);
  const { combined, combination } = combine(sources, weights, request);
  const lineage: AdapterLineage = {
    baseWeightsHash: sources[0].baseWeightsHash,
    adapterHash: adapterHash(combined.settings, combined.weights),
    version: 1,
    createdAt: (request.now ?? (() => new Date()))().toISOString(),
    combination,
    history: [],
  };
  const manifest = await writeAdapterBrick({
    outDirectory: out,
    manifest: manifestFields,
    lineage,
    architecture: sources[0].architecture,
    settings: combined.settings,
    weights: combined.weights,
  });
  return {
    outDirectory: out,
    manifest,
    rank: combined.settings.rank,
    targets: [...combined.settings.targets],
  };
}

export interface UpdateRequest {
  brick: string;
  /** The new adapter: an adapter brick or a PEFT directory naming its local base. */
  adapter: string;
  /** Where to write the updated brick; default: the brick itself (replaced atomically). */
  outDirectory?: string;
  now?: () => Date;
}

/** `dnc bricks update BRICK --adapter NEW [--out DIR]`. */
export async function updateAdapterBrick(
  request: UpdateRequest,
): Promise<{ outDirectory: string; manifest: AdapterBrickManifest }> {
  const cache: BaseCache = new Map();
  const current = await openAdapterSource(request.brick, cache);
  if (current.manifest === undefined)
    throw new UserError(
      `${request.brick} has no brick.json; update works on adapter bricks (\`dnc export RUN --adapter-only --out DIR\` writes one)`,
    );
  const next = await openAdapterSource(request.adapter, cache);
  if (next.baseWeightsHash !== current.baseWeightsHash)
    throw new UserError(
      `${request.adapter} adapts another base than ${request.brick} (base weights hash ${next.baseWeightsHash} vs ${current.baseWeightsHash}); update a brick only with an adapter of its own base`,
    );
  if (next.adapterHash === current.adapterHash)
    throw new UserError(
      `${request.adapter} holds the same adapter as ${request.brick} (hash ${current.adapterHash}); nothing to update`,
    );
  const out = resolve(request.outDirectory ?? request.brick);
  if (out !== current.directory) await checkReplaceable(out);
  const now = (request.now ?? (() => new Date()))().toISOString();
  const previous = current.manifest.lineage;
  const previousVersion = previous?.version ?? 1;
  const lineage: AdapterLineage = {
    baseWeightsHash: current.baseWeightsHash,
    adapterHash: next.adapterHash,
    version: previousVersion + 1,
    createdAt: now,
    source: next.directory,
    ...(next.manifest?.lineage?.combination === undefined
      ? {}
      : { combination: next.manifest.lineage.combination }),
    history: [
      ...(previous?.history ?? []),
      {
        version: previousVersion,
        adapterHash: current.adapterHash,
        source: previous?.source ?? current.adapterDirectory,
        ...(previous?.combination === undefined ? {} : { combination: previous.combination }),
        replacedAt: now,
      },
    ],
  };
  const { adapter: _adapter, lineage: _lineage, ...kept } = current.manifest;
  const manifest = await writeAdapterBrick({
    outDirectory: out,
    manifest: { ...kept, base: out === current.directory ? kept.base : current.baseDirectory },
    lineage,
    architecture: current.architecture,
    settings: next.adapter.settings,
    weights: next.adapter.weights,
    keepEntriesOf: current.directory,
  });
  return { outDirectory: out, manifest };
}
