/**
 * A brick directory that names a pretrained base and a PEFT LoRA adapter instead of holding a model:
 *
 *   brick.json   { "specificationVersion": "v1", "kind": "lora-adapter", "role": "decomposer",
 *                  "base": "models/SmolLM2-135M-Instruct", "adapter": ".",
 *                  "promptStyle"?: "instruct" | "compact", "decoding"?: { ... } }
 *
 * (`base` and `adapter` resolve from the brick directory; `dnc export --adapter-only` writes such a
 * brick.json beside the adapter's files, with `adapter: "."`.) The runtime merges on load: the base's
 * weights plus (alpha / r)·B·A become an ordinary onnx brick, built once into
 * `merged-<hash>/` inside the brick directory (the hash covers the base's weights and the adapter's
 * files, so a changed base or adapter builds anew) and loaded from there afterwards. Building the
 * merged ONNX once costs one export; running base + adapter as two paths on every token would cost
 * the thin products on every decoding step and a second decoder graph layout for other runtimes.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../errors/user-error.js';
import { formatZodError } from '../../data/zod-format.js';
import { brickManifestFileName } from '../../bricks/brick-manifest.js';
import {
  adapterBrickManifestSchema,
  type AdapterBrickManifest,
} from '../../bricks/adapter-brick-manifest.js';
import { exportBrick } from '../../export/export-brick.js';
import { peftFiles, readPeftAdapter } from '../../export/peft-adapter.js';
import { loadPretrainedCheckpoint } from '../../student/hugging-face-checkpoint.js';
import { mergeLora } from '../../student/lora.js';
import { writePretrainedTokenizerFiles } from '../../tokenizer/pretrained-tokenizer-files.js';
import { weightsHash } from '../../student/pretrained-base.js';

// The format lives with the other brick.json formats (src/bricks); re-exported for the runtime's importers.
export { adapterBrickManifestSchema, type AdapterBrickManifest };

/** The adapter manifest of `directory`, or undefined when its brick.json is not of kind `lora-adapter`. */
export async function readAdapterBrickManifest(directory: string): Promise<AdapterBrickManifest | undefined> {
  const file = join(directory, brickManifestFileName);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined; // not readable or not JSON: the onnx loader reports it
  }
  if ((json as { kind?: unknown } | null)?.kind !== 'lora-adapter') return undefined;
  const parsed = adapterBrickManifestSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(
      `${file}: not a valid LoRA adapter brick: ${formatZodError(parsed.error)}; it needs kind "lora-adapter", role, base (a model directory) and adapter (a PEFT directory)`,
    );
  return parsed.data;
}

async function adapterFilesHash(adapterDirectory: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [peftFiles.config, peftFiles.weights])
    hash.update(await readFile(join(adapterDirectory, file)));
  return hash.digest('hex');
}

/**
 * The directory of the merged onnx brick for an adapter brick, built on first use. Returns the
 * directory to load as an ordinary onnx brick.
 */
export async function mergedAdapterBrick(directory: string, manifest: AdapterBrickManifest): Promise<string> {
  const baseDirectory = resolve(directory, manifest.base);
  const adapterDirectory = resolve(directory, manifest.adapter);
  const base = await loadPretrainedCheckpoint(baseDirectory);
  const adapter = await readPeftAdapter(adapterDirectory, base.architecture);
  const key = createHash('sha256')
    .update(weightsHash(base.architecture, base.weights))
    .update(await adapterFilesHash(adapterDirectory))
    .update(JSON.stringify({ role: manifest.role, style: manifest.promptStyle, decoding: manifest.decoding }))
    .digest('hex')
    .slice(0, 16);
  const merged = join(directory, `merged-${key}`);
  if (await stat(join(merged, brickManifestFileName)).catch(() => undefined)) return merged;
  const tokenizerDirectory = await mkdtemp(join(tmpdir(), 'dnc-adapter-tokenizer-'));
  try {
    await writePretrainedTokenizerFiles(tokenizerDirectory, base.tokenizerFiles);
    await exportBrick({
      architecture: base.architecture,
      weights: mergeLora(base.architecture, base.weights, adapter.settings, adapter.weights),
      tokenizerDirectory,
      role: manifest.role,
      lineage: {
        dataHash: null,
        teacher: null,
        training: {
          base: baseDirectory,
          adapter: adapterDirectory,
          lora: adapter.settings,
          ...(manifest.promptStyle === undefined ? {} : { promptFormat: manifest.promptStyle }),
        },
      },
      metrics: {},
      outDirectory: merged,
      ...(manifest.decoding === undefined ? {} : { decoding: manifest.decoding }),
    });
  } finally {
    await rm(tokenizerDirectory, { recursive: true, force: true });
  }
  return merged;
}
