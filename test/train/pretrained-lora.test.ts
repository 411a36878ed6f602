/**
 * LoRA on pretrained Hugging Face checkpoints (random, written on the fly by the student tests'
 * fixtures): B = 0 leaves a qwen2 (q/k/v biases) and a qwen3 (q/k norms, head_dim ≠ C / H, untied
 * head) model's logits exactly as they were, merging equals running base + adapter, and a LoRA
 * run's adapter brick (base + PEFT adapter named in brick.json) is merged on load into the same
 * weights as the merged export.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { tensor } from '../../src/engine/session.js';
import { type StudentArchitecture } from '../../src/student/config.js';
import { loadPretrainedCheckpoint } from '../../src/student/hugging-face-checkpoint.js';
import { declareLlamaParameters } from '../../src/student/llama-graph.js';
import {
  initializeLora,
  loraAdapter,
  loraParameterSpecs,
  type LoraSettings,
  mergeLora,
} from '../../src/student/lora.js';
import { decodeSafetensors } from '../../src/student/safetensors.js';
import { loadBrick } from '../../src/runtime/bricks/registry.js';
import { adapterBrickManifestSchema } from '../../src/bricks/adapter-brick-manifest.js';
import { openAdapterSource } from '../../src/export/adapter-brick-files.js';
import { batchFeeds, type Document, packRows } from '../../src/train/packing.js';
import { studentForward } from '../../src/train/student-model.js';
import { trainStudent } from '../../src/train/train-loop.js';
import { runCli } from '../helpers/cli.js';
import { checkpointCases, temporaryDirectory, writeCheckpoint } from '../student/hugging-face-fixtures.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

const settings: LoraSettings = {
  rank: 4,
  alpha: 16,
  dropout: 0,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};
const shape = { rows: 2, length: 24 }; // (B, T)
const documents: Document[] = [9, 14, 11].map((length, index) => ({
  inputIds: Array.from({ length }, (_, position) => (position * 37 + index * 101 + 3) % 300),
  lossMask: Array.from({ length }, (_, position) => (position >= 2 ? 1 : 0)),
}));
let root: string;

beforeAll(async () => {
  root = await temporaryDirectory('dnc-pretrained-lora-');
});

async function logits(
  architecture: StudentArchitecture,
  weights: ReadonlyMap<string, Float32Array>,
  adapter?: ReadonlyMap<string, Float32Array>,
): Promise<Float32Array> {
  const g = new Graph('forward');
  const values = declareLlamaParameters(g, architecture);
  if (adapter !== undefined)
    for (const spec of loraParameterSpecs(architecture, settings))
      values.set(spec.name, g.input(spec.name, 'float32', spec.shape));
  const hook = adapter === undefined ? undefined : loraAdapter(g, values, settings);
  g.output(studentForward(g, architecture, values, shape, hook).logits!, 'logits');
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const rows = packRows(documents, [0, 1, 2], shape.length);
  const feeds: Record<string, ort.Tensor> = { ...batchFeeds(documents, rows, shape, 0).feeds };
  for (const [name, value] of values)
    if (!(name in feeds))
      feeds[name] = tensor('float32', weights.get(name) ?? adapter!.get(name)!, value.shape as number[]);
  const result = (await session.run(feeds)).logits.data as Float32Array;
  await session.release();
  return result;
}

const maxDifference = (left: Float32Array, right: Float32Array): number =>
  left.reduce((worst, value, index) => Math.max(worst, Math.abs(value - right[index])), 0);

describe('LoRA on pretrained checkpoints', () => {
  for (const name of ['qwen2-biases-bf16', 'qwen3-head-dim-untied-f32-sharded']) {
    it(`${name}: B = 0 gives exactly the base's logits; merged weights give the adapted logits`, async () => {
      const directory = join(root, name);
      await writeCheckpoint(
        directory,
        checkpointCases.find((entry) => entry.name === name)!,
      );
      const { architecture, weights } = await loadPretrainedCheckpoint(directory);
      const plain = await logits(architecture, weights);
      const fresh = initializeLora(architecture, settings, 3);
      expect(await logits(architecture, weights, fresh)).toEqual(plain);
      const adapter = new Map(fresh);
      for (const [key, array] of adapter)
        if (key.includes('lora_B'))
          adapter.set(
            key,
            array.map((_, index) => Math.sin(index + key.length) * 0.05),
          );
      const adapted = await logits(architecture, weights, adapter);
      expect(maxDifference(adapted, plain)).toBeGreaterThan(1e-3);
      const merged = await logits(architecture, mergeLora(architecture, weights, settings, adapter));
      expect(maxDifference(adapted, merged)).toBeLessThan(2e-4);
    });
  }

  it('an adapter brick (base + PEFT adapter in brick.json) loads merged, as the merged export', async () => {
    const base = join(root, 'base');
    await writeCheckpoint(
      base,
      checkpointCases.find((entry) => entry.name === 'qwen2-biases-bf16')!,
    );
    const dataFile = join(root, 'train.jsonl');
    await writeChats(dataFile, decomposerChats(30, 2));
    const run = join(root, 'run');
    const summary = await trainStudent({
      dataFile,
      role: 'decomposer',
      outDirectory: run,
      resume: false,
      base,
      lora: settings,
      threads: 1,
      overrides: {
        maxSteps: 12,
        warmupSteps: 1,
        sequenceLength: 128,
        longExamples: 'truncate',
        learningRate: 0.01,
        allowSmallData: true,
      },
    });
    expect(summary.finalTrainLoss!).toBeLessThan(summary.initialLoss!);
    const adapterDirectory = join(root, 'adapter');
    const exported = await runCli(['export', run, '--adapter-only', '--out', adapterDirectory]);
    expect(exported.code, exported.stderr).toBe(0);
    // The export records the lineage merge and update check: the base's and the adapter's hashes.
    const manifest = adapterBrickManifestSchema.parse(
      JSON.parse(await readFile(join(adapterDirectory, 'brick.json'), 'utf8')),
    );
    const source = await openAdapterSource(adapterDirectory);
    expect(manifest.lineage?.version).toBe(1);
    expect(manifest.lineage?.baseWeightsHash).toBe(source.baseWeightsHash);
    expect(manifest.lineage?.adapterHash).toBe(source.adapterHash);
    const mergedExport = await runCli(['export', run, '--out', join(root, 'merged')]);
    expect(mergedExport.code, mergedExport.stderr).toBe(0);
    const brick = await loadBrick(adapterDirectory);
    expect(brick.role).toBe('decomposer');
    const built = (await readdir(adapterDirectory)).filter((entry) => entry.startsWith('merged-'));
    expect(built).toHaveLength(1);
    const read = async (file: string) => decodeSafetensors(await readFile(file), file).tensors;
    const onLoad = await read(join(adapterDirectory, built[0], 'model.safetensors'));
    const fromExport = await read(join(root, 'merged', 'model.safetensors'));
    for (const [name, value] of fromExport) expect(onLoad.get(name)?.data, name).toEqual(value.data);
    await loadBrick(adapterDirectory); // the second load reuses the merged brick
    expect((await readdir(adapterDirectory)).filter((entry) => entry.startsWith('merged-'))).toEqual(built);
  }, 120_000);
});
