/**
 * Reading and writing LoRA adapter bricks for `dnc bricks merge|update|show`: a brick directory
 * whose brick.json is of kind `lora-adapter` (src/bricks/adapter-brick-manifest.ts), or a bare
 * PEFT adapter directory whose adapter_config.json names a local base (`base_model_name_or_path`).
 *
 * Opening one loads its base (to know the architecture and to hash its weights: two adapters belong
 * to the same base only when the hashes agree, whatever the directories are called) and reads the
 * adapter against that architecture, checking every tensor's name and shape. Writing one stages the
 * whole directory beside its destination and renames it into place, so a reader (or a killed
 * command) never leaves half a brick.
 */
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { formatZodError } from '../data/zod-format.js';
import { brickManifestFileName } from '../bricks/brick-manifest.js';
import { adapterBrickManifestSchema, type AdapterBrickManifest } from '../bricks/adapter-brick-manifest.js';
import { adapterHash, type AdapterLineage } from '../bricks/adapter-lineage.js';
import { type StudentArchitecture } from '../student/config.js';
import { loadPretrainedCheckpoint } from '../student/hugging-face-checkpoint.js';
import { type LoraSettings } from '../student/lora.js';
import { weightsHash } from '../student/pretrained-base.js';
import { peftFiles, type PeftAdapter, readPeftAdapter, writePeftAdapter } from './peft-adapter.js';

export interface AdapterSource {
  /** The directory given, absolute. */
  directory: string;
  name: string;
  /** Its brick.json, when it is an adapter brick (absent for a bare PEFT directory). */
  manifest: AdapterBrickManifest | undefined;
  baseDirectory: string;
  adapterDirectory: string;
  architecture: StudentArchitecture;
  baseWeightsHash: string;
  adapter: PeftAdapter;
  adapterHash: string;
}

/** Loaded bases by directory: several adapters of one base load and hash it once. */
export type BaseCache = Map<string, Promise<{ architecture: StudentArchitecture; hash: string }>>;

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file}: not readable JSON (${(error as Error).message}); fix or re-export it`, {
      cause: error,
    });
  }
}

/** The adapter manifest in `directory`, undefined without brick.json; refuses other brick kinds. */
async function readManifest(directory: string): Promise<AdapterBrickManifest | undefined> {
  const file = join(directory, brickManifestFileName);
  if (!(await exists(file))) return undefined;
  const json = await readJson(file);
  const kind = (json as { kind?: unknown } | null)?.kind;
  if (kind !== 'lora-adapter')
    throw new UserError(
      `${directory} is a ${String(kind)} brick, not a LoRA adapter brick; give adapter bricks (\`dnc export RUN --adapter-only --out DIR\`)`,
    );
  const parsed = adapterBrickManifestSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`${file}: not a valid LoRA adapter brick: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

/** The base a bare PEFT directory names, when it is a local directory. */
async function peftBase(directory: string): Promise<string> {
  const file = join(directory, peftFiles.config);
  if (!(await exists(file)))
    throw new UserError(
      `${directory} is neither a LoRA adapter brick (brick.json of kind lora-adapter) nor a PEFT adapter directory (${peftFiles.config}); export one with \`dnc export RUN --adapter-only --out DIR\``,
    );
  const named = (await readJson(file)) as { base_model_name_or_path?: unknown } | null;
  const base = typeof named?.base_model_name_or_path === 'string' ? named.base_model_name_or_path : '';
  if (base === '' || !(await exists(join(resolve(directory, base), 'config.json'))))
    throw new UserError(
      `${file}: base_model_name_or_path ${JSON.stringify(named?.base_model_name_or_path ?? null)} is not a local model directory, so its base cannot be checked; set it to the base's directory`,
    );
  return resolve(directory, base);
}

function loadBaseOnce(cache: BaseCache, directory: string) {
  let loading = cache.get(directory);
  if (loading === undefined) {
    loading = loadPretrainedCheckpoint(directory).then(({ architecture, weights }) => ({
      architecture,
      hash: weightsHash(architecture, weights),
    }));
    cache.set(directory, loading);
  }
  return loading;
}

/** Opens an adapter brick or a bare PEFT directory (see the file comment). */
export async function openAdapterSource(path: string, cache: BaseCache = new Map()): Promise<AdapterSource> {
  const directory = resolve(path);
  if (
    !(await stat(directory).then(
      (entry) => entry.isDirectory(),
      () => false,
    ))
  )
    throw new UserError(`${path} is not a directory; give a LoRA adapter brick directory`);
  const manifest = await readManifest(directory);
  const baseDirectory =
    manifest === undefined ? await peftBase(directory) : resolve(directory, manifest.base);
  const adapterDirectory = manifest === undefined ? directory : resolve(directory, manifest.adapter);
  const base = await loadBaseOnce(cache, baseDirectory);
  const recorded = manifest?.lineage?.baseWeightsHash;
  if (recorded !== undefined && recorded !== base.hash)
    throw new UserError(
      `${path} was made for a base whose weights hash ${recorded}, but ${baseDirectory} now hashes ${base.hash}; restore the original base`,
    );
  const adapter = await readPeftAdapter(adapterDirectory, base.architecture);
  return {
    directory,
    name: basename(directory),
    manifest,
    baseDirectory,
    adapterDirectory,
    architecture: base.architecture,
    baseWeightsHash: base.hash,
    adapter,
    adapterHash: adapterHash(adapter.settings, adapter.weights),
  };
}

export interface WriteAdapterBrickInput {
  outDirectory: string;
  manifest: Omit<AdapterBrickManifest, 'adapter' | 'lineage'>;
  lineage: AdapterLineage;
  architecture: StudentArchitecture;
  settings: LoraSettings;
  weights: ReadonlyMap<string, Float32Array>;
  /** Copy this directory's other entries (not the adapter, brick.json or merged caches) along. */
  keepEntriesOf?: string;
}

/** Entries of a brick directory that a rewrite replaces or drops (merged-* are the runtime's caches). */
const isReplaced = (entry: string): boolean =>
  entry === brickManifestFileName ||
  entry === peftFiles.config ||
  entry === peftFiles.weights ||
  entry.startsWith('merged-');

/** Writes an adapter brick (PEFT files + brick.json with lineage) at `outDirectory`, atomically. */
export async function writeAdapterBrick(input: WriteAdapterBrickInput): Promise<AdapterBrickManifest> {
  const target = resolve(input.outDirectory);
  const manifest = adapterBrickManifestSchema.parse({
    ...input.manifest,
    adapter: '.',
    lineage: input.lineage,
  });
  await mkdir(dirname(target), { recursive: true });
  const staged = await mkdtemp(join(dirname(target), `.${basename(target)}.staging-`));
  try {
    await chmod(staged, 0o755); // mkdtemp makes it 0700; a brick directory is readable like export's
    if (input.keepEntriesOf !== undefined)
      for (const entry of await readdir(input.keepEntriesOf))
        if (!isReplaced(entry))
          await cp(join(input.keepEntriesOf, entry), join(staged, entry), { recursive: true });
    await writePeftAdapter({
      architecture: input.architecture,
      settings: input.settings,
      weights: input.weights,
      baseModel: manifest.base,
      outDirectory: staged,
    });
    await writeFile(join(staged, brickManifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
    const retired = `${target}.old-${process.pid}-${Date.now()}`;
    const replacing = await exists(target);
    if (replacing) await rename(target, retired);
    await rename(staged, target);
    if (replacing) await rm(retired, { recursive: true, force: true });
  } catch (error) {
    await rm(staged, { recursive: true, force: true });
    throw error;
  }
  return manifest;
}

/** Refuses an --out that exists and is not an adapter brick (it would be replaced). */
export async function checkReplaceable(outDirectory: string): Promise<void> {
  const target = resolve(outDirectory);
  if (!(await exists(target))) return;
  const entries = await readdir(target).catch(() => undefined);
  if (entries === undefined)
    throw new UserError(`--out ${outDirectory} exists and is not a directory; choose another --out`);
  if (entries.length === 0) return;
  const manifestFile = join(target, brickManifestFileName);
  const kind = (await exists(manifestFile))
    ? ((await readJson(manifestFile)) as { kind?: unknown } | null)?.kind
    : undefined;
  if (kind !== 'lora-adapter')
    throw new UserError(
      `--out ${outDirectory} exists and is not a LoRA adapter brick; choose a new directory (an adapter brick there would be replaced)`,
    );
}
