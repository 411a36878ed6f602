/**
 * `dnc bricks merge|update|show` on tiny random LoRA adapter bricks of a random Hugging Face base
 * (test/student/hugging-face-fixtures.ts): merging with weights 1,0 gives A's logits, 0.5/0.5 the
 * half-sum of the changes, different target modules combine (a missing module contributes 0), the
 * runtime merges the result on load, update keeps the base and records lineage, and bad inputs
 * fail with one line each.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { tensor } from '../../src/engine/session.js';
import { adapterDelta } from '../../src/export/adapter-combination.js';
import { peftFiles, readPeftAdapter, writePeftAdapter } from '../../src/export/peft-adapter.js';
import { type ProjectionName, type StudentArchitecture } from '../../src/student/config.js';
import { loadPretrainedCheckpoint } from '../../src/student/hugging-face-checkpoint.js';
import { declareLlamaParameters } from '../../src/student/llama-graph.js';
import { initializeLora, type LoraSettings, mergeLora } from '../../src/student/lora.js';
import { decodeSafetensors } from '../../src/student/safetensors.js';
import { loadBrick } from '../../src/runtime/bricks/registry.js';
import { batchFeeds, type Document, packRows } from '../../src/train/packing.js';
import { studentForward } from '../../src/train/student-model.js';
import { runCli } from '../helpers/cli.js';
import { checkpointCases, temporaryDirectory, writeCheckpoint } from '../student/hugging-face-fixtures.js';

let root: string;
let base: string;
let architecture: StudentArchitecture;
let baseWeights: Map<string, Float32Array>;

const settingsA: LoraSettings = { rank: 2, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'up_proj'] };
const settingsB: LoraSettings = { rank: 3, alpha: 6, dropout: 0, targets: ['v_proj', 'down_proj'] };

/** A LoRA adapter brick with random A and B (B ≠ 0, so it changes the base). */
async function adapterBrick(
  directory: string,
  settings: LoraSettings,
  seed: number,
  baseDirectory = base,
  role = 'decomposer',
): Promise<Map<string, Float32Array>> {
  const weights = initializeLora(architecture, settings, seed);
  for (const [name, values] of weights)
    if (name.includes('lora_B'))
      weights.set(
        name,
        values.map((_, index) => Math.sin(seed * 7 + index) * 0.05),
      );
  await writePeftAdapter({
    architecture,
    settings,
    weights,
    baseModel: baseDirectory,
    outDirectory: directory,
  });
  await writeFile(
    join(directory, 'brick.json'),
    JSON.stringify({
      specificationVersion: 'v1',
      kind: 'lora-adapter',
      role,
      base: baseDirectory,
      adapter: '.',
    }),
  );
  return weights;
}

const documents: Document[] = [9, 14].map((length, index) => ({
  inputIds: Array.from({ length }, (_, position) => (position * 37 + index * 101 + 3) % 300),
  lossMask: Array.from({ length }, () => 1),
}));
const shape = { rows: 2, length: 16 }; // (B, T)

/** The model's logits (B, T, V) under full weights, through the training forward. */
async function logits(weights: ReadonlyMap<string, Float32Array>): Promise<Float32Array> {
  const g = new Graph('forward');
  const values = declareLlamaParameters(g, architecture);
  g.output(studentForward(g, architecture, values, shape).logits!, 'logits');
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const feeds: Record<string, ort.Tensor> = {
    ...batchFeeds(documents, packRows(documents, [0, 1], shape.length), shape, 0).feeds,
  };
  for (const [name, value] of values)
    if (!(name in feeds)) feeds[name] = tensor('float32', weights.get(name)!, value.shape as number[]);
  const result = (await session.run(feeds)).logits.data as Float32Array;
  await session.release();
  return result;
}

const maxDifference = (left: ArrayLike<number>, right: ArrayLike<number>): number => {
  let worst = 0;
  for (let index = 0; index < left.length; index += 1)
    worst = Math.max(worst, Math.abs(left[index] - right[index]));
  return worst;
};

async function readAdapter(directory: string) {
  return readPeftAdapter(directory, architecture);
}

let weightsA: Map<string, Float32Array>;
let weightsB: Map<string, Float32Array>;

beforeAll(async () => {
  root = await temporaryDirectory('dnc-adapter-bricks-');
  base = join(root, 'base');
  await writeCheckpoint(
    base,
    checkpointCases.find((entry) => entry.name === 'llama-tied-f32')!,
  );
  ({ architecture, weights: baseWeights } = await loadPretrainedCheckpoint(base));
  weightsA = await adapterBrick(join(root, 'a'), settingsA, 1);
  weightsB = await adapterBrick(join(root, 'b'), settingsB, 2);
}, 60_000);

describe('dnc bricks merge', () => {
  it('weights 1,0 give A exactly (logits and merged weights); the runtime loads the merge', async () => {
    const out = join(root, 'merged-a');
    const merged = await runCli([
      'bricks',
      'merge',
      join(root, 'a'),
      join(root, 'b'),
      '--weights',
      '1,0',
      '--out',
      out,
      '--json',
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    const summary = JSON.parse(merged.stdout);
    expect(summary).toMatchObject({
      rank: 5,
      targets: ['q_proj', 'v_proj', 'up_proj', 'down_proj'],
      combination: 'cat',
    });
    const config = JSON.parse(await readFile(join(out, peftFiles.config), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 5, lora_alpha: 5, base_model_name_or_path: base });
    const combined = await readAdapter(out);
    const fromMerge = mergeLora(architecture, baseWeights, combined.settings, combined.weights);
    const fromA = mergeLora(architecture, baseWeights, settingsA, weightsA);
    for (const [name, values] of fromA)
      expect(maxDifference(fromMerge.get(name)!, values), name).toBeLessThan(1e-6);
    const logitsA = await logits(fromA);
    expect(maxDifference(await logits(fromMerge), logitsA)).toBeLessThan(1e-4);
    expect(maxDifference(await logits(baseWeights), logitsA)).toBeGreaterThan(1e-3); // A does change the base

    const brick = await loadBrick(out); // merge-on-load into an onnx brick
    expect(brick.role).toBe('decomposer');
    const built = (await readdir(out)).filter((entry) => entry.startsWith('merged-'));
    expect(built).toHaveLength(1);
    const file = join(out, built[0], 'model.safetensors');
    const onLoad = decodeSafetensors(await readFile(file), file).tensors;
    expect(
      maxDifference(
        onLoad.get('model.layers.1.self_attn.q_proj.weight')!.data,
        fromA.get('model.layers.1.self_attn.q_proj.weight')!,
      ),
    ).toBeLessThan(1e-6);
  }, 240_000);

  it('0.5/0.5 changes the base by the half-sum of the deltas, a missing module counting 0; lineage names the parents', async () => {
    const out = join(root, 'half');
    const merged = await runCli([
      'bricks',
      'merge',
      join(root, 'a'),
      join(root, 'b'),
      '--weights',
      '0.5,0.5',
      '--out',
      out,
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout.trim()).toBe(out);
    const combined = await readAdapter(out);
    const a = { settings: settingsA, weights: weightsA };
    const b = { settings: settingsB, weights: weightsB };
    for (const projection of ['q_proj', 'v_proj', 'up_proj', 'down_proj'] as ProjectionName[])
      for (const layer of [0, 1]) {
        const got = adapterDelta(architecture, combined, layer, projection)!;
        const deltaA = adapterDelta(architecture, a, layer, projection);
        const deltaB = adapterDelta(architecture, b, layer, projection);
        const expected = got.map((_, index) => 0.5 * (deltaA?.[index] ?? 0) + 0.5 * (deltaB?.[index] ?? 0));
        expect(maxDifference(got, expected), `${projection} ${layer}`).toBeLessThan(1e-6);
        expect(maxDifference(expected, new Float32Array(expected.length))).toBeGreaterThan(1e-4);
      }
    const manifest = JSON.parse(await readFile(join(out, 'brick.json'), 'utf8'));
    expect(manifest.kind).toBe('lora-adapter');
    expect(manifest.lineage.version).toBe(1);
    expect(manifest.lineage.combination.type).toBe('cat');
    expect(
      manifest.lineage.combination.parents.map((parent: { name: string; weight: number; path: string }) => [
        parent.name,
        parent.weight,
        parent.path,
      ]),
    ).toEqual([
      ['a', 0.5, join(root, 'a')],
      ['b', 0.5, join(root, 'b')],
    ]);
    const hashes = manifest.lineage.combination.parents.map(
      (parent: { adapterHash: string }) => parent.adapterHash,
    );
    expect(hashes[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(hashes[0]).not.toBe(hashes[1]);

    // --combination svd --rank 2: PEFT's truncated variant, r = alpha = 2, recorded in the lineage.
    const svdOut = join(root, 'half-svd');
    const svd = await runCli([
      'bricks',
      'merge',
      join(root, 'a'),
      join(root, 'b'),
      '--combination',
      'svd',
      '--rank',
      '2',
      '--out',
      svdOut,
      '--json',
    ]);
    expect(svd.code, svd.stderr).toBe(0);
    expect(JSON.parse(svd.stdout)).toMatchObject({ combination: 'svd', rank: 2 });
    expect(JSON.parse(await readFile(join(svdOut, peftFiles.config), 'utf8'))).toMatchObject({
      r: 2,
      lora_alpha: 2,
    });
    const svdManifest = JSON.parse(await readFile(join(svdOut, 'brick.json'), 'utf8'));
    expect(svdManifest.lineage.combination).toMatchObject({ type: 'svd', rank: 2 });
    expect((await readAdapter(svdOut)).settings.targets).toEqual([
      'q_proj',
      'v_proj',
      'up_proj',
      'down_proj',
    ]);

    const shown = await runCli(['bricks', 'show', out, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      kind: 'lora-adapter',
      manifest: { lineage: { adapterHash: manifest.lineage.adapterHash } },
    });
    const text = await runCli(['bricks', 'show', out]);
    expect(text.stdout).toMatch(/combination cat of:\n {2}a × 0\.5 \(r 2, alpha 8/);
  }, 240_000);

  it('refuses another base, another role, a wrong weight count, a non-adapter and a missing base, one line each', async () => {
    const otherBase = join(root, 'other-base');
    await writeCheckpoint(
      otherBase,
      checkpointCases.find((entry) => entry.name === 'llama-tied-f32')!,
      11,
    );
    await adapterBrick(join(root, 'c'), settingsA, 3, otherBase);
    await adapterBrick(join(root, 'solver'), settingsA, 4, base, 'solver');
    const copiedBase = join(root, 'base-copy');
    await cp(base, copiedBase, { recursive: true });
    await adapterBrick(join(root, 'same-base-elsewhere'), settingsB, 5, copiedBase);
    // Bare PEFT directories (no brick.json): one names a local base, one a hub id that cannot be checked.
    const bare = (directory: string, baseModel: string) =>
      writePeftAdapter({
        architecture,
        settings: settingsA,
        weights: initializeLora(architecture, settingsA, 6),
        baseModel,
        outDirectory: join(root, directory),
      });
    await bare('peft-local', base);
    await bare('peft-hub', 'HuggingFaceTB/SmolLM2-135M-Instruct');
    const cases: [string[], RegExp][] = [
      [
        [join(root, 'a'), join(root, 'peft-hub')],
        /base_model_name_or_path "HuggingFaceTB\/SmolLM2-135M-Instruct" is not a local model directory, so its base cannot be checked; set it to the base's directory$/,
      ],
      [
        [join(root, 'a'), join(root, 'c')],
        /adapts another base than .*\/a \(base weights hash [0-9a-f]+ vs [0-9a-f]+\); combine adapters of one base only$/,
      ],
      [
        [join(root, 'a'), join(root, 'solver')],
        /differ in role \("decomposer" vs "solver"\); combine bricks of one role only$/,
      ],
      [
        [join(root, 'a'), join(root, 'b'), '--weights', '1,2,3'],
        /--weights has 3 numbers for 2 adapter bricks; give one weight per brick/,
      ],
      [[join(root, 'a'), join(root, 'b'), '--weights', '1,x'], /--weights takes comma-separated numbers/],
      [[join(root, 'a'), base], /is neither a LoRA adapter brick .* nor a PEFT adapter directory/],
      [[join(root, 'a'), join(root, 'b'), '--rank', '2'], /--rank applies to --combination svd/],
      [[join(root, 'a'), join(root, 'b'), '--combination', 'ties'], /--combination takes cat .* or svd/],
      [[join(root, 'a')], /give at least two adapter bricks \(got 1\)/],
      [[join(root, 'a'), join(root, 'b'), '--out', join(root, 'a')], /is one of the bricks to merge/],
      [[join(root, 'a'), join(root, 'b'), '--out', base], /exists and is not a LoRA adapter brick/],
    ];
    const results = await Promise.all(
      cases.map(([args]) =>
        runCli([
          'bricks',
          'merge',
          ...(args.includes('--out') ? args : [...args, '--out', join(root, 'refused')]),
        ]),
      ),
    );
    results.forEach((result, index) => {
      expect(result.code, cases[index][0].join(' ')).toBe(1);
      expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
      expect(result.stderr.trim()).toMatch(cases[index][1]);
    });
    // The same weights in another directory are the same base; a bare PEFT directory of it joins in.
    const sameBase = await runCli([
      'bricks',
      'merge',
      join(root, 'a'),
      join(root, 'same-base-elsewhere'),
      join(root, 'peft-local'),
      '--out',
      join(root, 'same'),
    ]);
    expect(sameBase.code, sameBase.stderr).toBe(0);
  }, 240_000);
});

describe('dnc bricks update', () => {
  it('swaps the adapter, keeps the base and records the previous version in the lineage', async () => {
    const brick = join(root, 'updated');
    await cp(join(root, 'a'), brick, { recursive: true });
    await loadBrick(brick); // leaves a merged-* cache that the update must drop
    const newAdapter = join(root, 'a2');
    const newWeights = await adapterBrick(newAdapter, settingsB, 9);
    const first = await runCli(['bricks', 'update', brick, '--adapter', newAdapter, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({ version: 2, previous: { version: 1 } });
    expect((await readdir(brick)).filter((entry) => entry.startsWith('merged-'))).toEqual([]);
    const manifest = JSON.parse(await readFile(join(brick, 'brick.json'), 'utf8'));
    expect(manifest.base).toBe(base);
    expect(manifest.lineage).toMatchObject({ version: 2, source: newAdapter, history: [{ version: 1 }] });
    expect(manifest.lineage.history[0].replacedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const swapped = await readAdapter(brick);
    expect(swapped.settings).toMatchObject({ rank: 3, alpha: 6, targets: ['v_proj', 'down_proj'] });
    expect(swapped.weights.get('model.layers.0.mlp.down_proj.lora_B.weight')).toEqual(
      newWeights.get('model.layers.0.mlp.down_proj.lora_B.weight'),
    );

    // A second update into another directory: version 3, both earlier versions in the history.
    const third = await runCli([
      'bricks',
      'update',
      brick,
      '--adapter',
      join(root, 'half'),
      '--out',
      join(root, 'v3'),
      '--json',
    ]);
    expect(third.code, third.stderr).toBe(0);
    const v3 = JSON.parse(await readFile(join(root, 'v3', 'brick.json'), 'utf8'));
    expect(v3.lineage.version).toBe(3);
    expect(v3.lineage.history.map((entry: { version: number }) => entry.version)).toEqual([1, 2]);
    expect(v3.lineage.history[1].adapterHash).toBe(manifest.lineage.adapterHash);
    expect(v3.lineage.combination.type).toBe('cat'); // the new adapter's own lineage comes along
    const shown = await runCli(['bricks', 'show', join(root, 'v3')]);
    expect(shown.stdout).toMatch(/version 3 .*\n(.|\n)*replaced version 1 .*\nreplaced version 2 /);

    const otherBase = await runCli(['bricks', 'update', brick, '--adapter', join(root, 'c')]);
    expect(otherBase.code).toBe(1);
    expect(otherBase.stderr.trim()).toMatch(
      /adapts another base than .*; update a brick only with an adapter of its own base$/,
    );
    const same = await runCli(['bricks', 'update', brick, '--adapter', newAdapter]);
    expect(same.stderr.trim()).toMatch(/holds the same adapter as .*; nothing to update$/);
    const missing = await runCli(['bricks', 'update', brick]);
    expect(missing.stderr.trim()).toMatch(/give the new adapter: --adapter DIR/);
  }, 240_000);
});
