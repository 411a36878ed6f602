/**
 * `loadBrick(spec)`: parses a spec and hands it to the loader registered for its kind. The
 * registry is a plain list (no import-time side effects): `defaultBrickLoaders` holds the
 * kinds this build knows, and a caller (or a test) may pass its own list.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PriceTable } from '../../teacher/pricing.js';
import type { Brick, BrickKind } from './brick.js';
import { BrickSpecError, parseBrickSpec, type ParsedBrickSpec } from './brick-spec.js';
import { goldBrickLoader } from './gold-brick.js';
import { onnxBrickLoader } from './onnx-brick.js';
import { openaiBrickLoader } from './openai-brick.js';
import { referenceBrickLoader } from './reference-brick.js';
import { remoteBrickSpec } from '../../train/remote/remote-brick-manifest.js';
import { mergedAdapterBrick, readAdapterBrickManifest } from './adapter-brick.js';

export interface LoadBrickOptions {
  /** Price table for remote and simulated bricks (defaults to `defaults.prices`). */
  prices?: PriceTable;
  /** Dollars per CPU-hour for local bricks (defaults to `defaults.localCost.usdPerCpuHour`). */
  usdPerCpuHour?: number;
  /** Environment for remote bricks (`OPENAI_BASE_URL`, `OPENAI_API_KEY`); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Directory relative brick paths resolve from (defaults to the working directory). */
  cwd?: string;
  /**
   * onnxruntime threads per local brick session (default: onnxruntime's own choice). A server
   * running several local bricks in worker threads sets 1, so sessions do not fight over cores.
   */
  localThreads?: number;
  /** Replaces the default loaders (tests, embedders). */
  loaders?: readonly BrickLoader[];
}

export interface BrickLoader {
  readonly kind: BrickKind;
  load(spec: ParsedBrickSpec, options: LoadBrickOptions): Promise<Brick>;
}

/** The loaders of this build, one per kind; the local ONNX loader joins this list. */
export const defaultBrickLoaders: readonly BrickLoader[] = [
  referenceBrickLoader,
  goldBrickLoader,
  openaiBrickLoader,
  onnxBrickLoader,
];

export async function loadBrick(spec: string, options: LoadBrickOptions = {}): Promise<Brick> {
  const parsed = parseBrickSpec(spec);
  if (parsed.path !== undefined) {
    const directory = resolve(options.cwd ?? process.cwd(), parsed.path);
    if (!existsSync(directory))
      throw new BrickSpecError(
        parsed.spec,
        `not \`reference\`, \`gold\` or \`openai:MODEL\`, and no brick directory exists at ${directory} ` +
          '(check the path, or make one with `dnc export CHECKPOINT_DIR --out BRICK_DIR`)',
      );
    if (!statSync(directory).isDirectory())
      throw new BrickSpecError(
        parsed.spec,
        `${directory} is a file; a local brick is a directory holding brick.json`,
      );
    parsed.path = directory;
    // A remotely fine-tuned brick (`dnc train --backend openai`): its brick.json names an openai:MODEL spec.
    const remote = await remoteBrickSpec(directory);
    if (remote !== undefined) return loadBrick(remote, options);
    // A base + LoRA adapter brick: merged into an onnx brick once, then loaded as one.
    const adapter = await readAdapterBrickManifest(directory);
    if (adapter !== undefined) parsed.path = await mergedAdapterBrick(directory, adapter);
  }
  const loaders = options.loaders ?? defaultBrickLoaders;
  const loader = loaders.find((candidate) => candidate.kind === parsed.kind);
  if (loader === undefined)
    throw new BrickSpecError(
      parsed.spec,
      `no loader for '${parsed.kind}' bricks is registered in this build ` +
        `(known kinds: ${loaders.map((candidate) => candidate.kind).join(', ') || 'none'})`,
    );
  return loader.load(parsed, options);
}
