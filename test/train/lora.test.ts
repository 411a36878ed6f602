import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors/user-error.js';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { tensor } from '../../src/engine/session.js';
import { Trainer } from '../../src/engine/trainer.js';
import { peftFiles, readPeftAdapter, writePeftAdapter } from '../../src/export/peft-adapter.js';
import { loadPreset, type StudentArchitecture } from '../../src/student/config.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { declareLlamaParameters } from '../../src/student/llama-graph.js';
import {
  initializeLora,
  loraAdapter,
  loraNames,
  loraParameterSpecs,
  type LoraSettings,
  mergeLora,
  parseLoraTargets,
} from '../../src/student/lora.js';
import { readSafetensors } from '../../src/student/safetensors.js';
import { batchFeeds, type Document, packRows } from '../../src/train/packing.js';
import { studentForward, studentModel } from '../../src/train/student-model.js';

let architecture: StudentArchitecture;
let base: Map<string, Float32Array>;
const shape = { rows: 3, length: 16 }; // (B, T)
const settings: LoraSettings = {
  rank: 4,
  alpha: 8,
  dropout: 0,
  targets: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};
const documents: Document[] = [9, 12, 7, 10].map((length, index) => ({
  inputIds: Array.from({ length }, (_, position) => (position * 37 + index * 101 + 3) % 512),
  lossMask: Array.from({ length }, (_, position) => (position >= 2 ? 1 : 0)),
}));
let directory: string;

beforeAll(async () => {
  architecture = (await loadPreset('nano')).architecture;
  base = initializeWeights({ ...architecture, initializerRange: 0.2 }, 3);
  directory = await mkdtemp(join(tmpdir(), 'dnc-lora-'));
});
afterAll(async () => rm(directory, { recursive: true, force: true }));

/** Random A and B (B nonzero, unlike a fresh adapter). */
function randomAdapter(seed: number): Map<string, Float32Array> {
  const adapter = initializeLora(architecture, settings, seed);
  let state = seed;
  for (const [name, array] of adapter)
    if (name.includes('lora_B'))
      for (let index = 0; index < array.length; index += 1) {
        state = (state * 1103515245 + 12345) % 2147483648;
        array[index] = (state / 2147483648 - 0.5) * 0.2;
      }
  return adapter;
}

/** Logits (B, T, V) of the packed documents, with the LoRA path when `adapter` is given. */
async function logits(
  weights: Map<string, Float32Array>,
  adapter?: Map<string, Float32Array>,
): Promise<Float32Array> {
  const g = new Graph('forward');
  const values = declareLlamaParameters(g, architecture);
  const specs = adapter === undefined ? [] : loraParameterSpecs(architecture, settings);
  for (const spec of specs) values.set(spec.name, g.input(spec.name, 'float32', spec.shape));
  const hook = adapter === undefined ? undefined : loraAdapter(g, values, settings);
  g.output(studentForward(g, architecture, values, shape, hook).logits!, 'logits');
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const rows = packRows(documents, [0, 1, 2, 3], shape.length);
  const feeds: Record<string, ort.Tensor> = { ...batchFeeds(documents, rows, shape, 0).feeds };
  for (const [name, value] of values)
    if (g.inputs.includes(value) && !(name in feeds)) {
      const data = weights.get(name) ?? adapter?.get(name);
      feeds[name] = tensor('float32', data!, value.shape as number[]);
    }
  const result = (await session.run(feeds)).logits.data as Float32Array;
  await session.release();
  return result;
}

function maxDifference(left: Float32Array, right: Float32Array): number {
  let worst = 0;
  for (let index = 0; index < left.length; index += 1)
    worst = Math.max(worst, Math.abs(left[index] - right[index]));
  return worst;
}

describe('LoRA (PEFT definition)', () => {
  it('starts as PEFT does: A ~ U(−1/√in, 1/√in) with rank rows, B = 0, seeded', () => {
    const adapter = initializeLora(architecture, settings, 1);
    const a = adapter.get(loraNames.a(0, 'q_proj'))!;
    const b = adapter.get(loraNames.b(0, 'down_proj'))!;
    const bound = 1 / Math.sqrt(architecture.hiddenSize);
    expect(a.length).toBe(settings.rank * architecture.hiddenSize);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(bound * 0.9);
    expect(b.every((value) => value === 0)).toBe(true);
    expect(b.length).toBe(architecture.hiddenSize * settings.rank);
    expect(initializeLora(architecture, settings, 1).get(loraNames.a(0, 'q_proj'))).toEqual(a);
    expect(adapter.has(loraNames.a(0, 'k_proj'))).toBe(false); // not a target
  });

  it('with B = 0 gives exactly the base model’s logits', async () => {
    const plain = await logits(base);
    const adapted = await logits(base, initializeLora(architecture, settings, 2));
    expect(adapted).toEqual(plain);
  });

  it('gives the logits of the merged weights W + (alpha/r)·B·A, and changes them', async () => {
    const adapter = randomAdapter(5);
    const adapted = await logits(base, adapter);
    const merged = await logits(mergeLora(architecture, base, settings, adapter));
    expect(maxDifference(adapted, merged)).toBeLessThan(2e-4);
    expect(maxDifference(adapted, await logits(base))).toBeGreaterThan(1e-2);
  });

  it('trains only A and B: the base stays bit-identical and holds no moments', async () => {
    const rows = packRows(documents, [0, 1, 2, 3], shape.length);
    const model = studentModel(architecture, shape, settings);
    const frozenValues = new Map([...base].map(([name, array]) => [name, Float32Array.from(array)]));
    const trainer = await Trainer.create({
      model,
      initialParameters: initializeLora(architecture, settings, 7),
      frozenValues,
      optimizer: { weightDecay: 0 },
    });
    const feeds = batchFeeds(documents, rows, shape, 0).feeds;
    const first = await trainer.step([feeds], 1e-2);
    let last = first;
    for (let step = 0; step < 15; step += 1) last = await trainer.step([feeds], 1e-2);
    expect(last.loss).toBeLessThan(first.loss);
    for (const [name, array] of frozenValues) expect(array).toEqual(base.get(name));
    const loraTensors = loraParameterSpecs(architecture, settings).length;
    expect(loraTensors).toBe(2 * settings.targets.length * architecture.numHiddenLayers);
    expect(trainer.memory().stateArrays).toBe(6 * loraTensors); // value + 2 moments, each with a spare
    expect(trainer.stateNames().every((name) => name.includes('lora_'))).toBe(true);
    await trainer.release();
  });

  it('writes and reads a PEFT adapter: names, shapes, adapter_config.json', async () => {
    const adapter = randomAdapter(9);
    const out = join(directory, 'adapter');
    await writePeftAdapter({
      architecture,
      settings,
      weights: adapter,
      baseModel: '/models/base',
      outDirectory: out,
    });
    const config = JSON.parse(await readFile(join(out, peftFiles.config), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0,
      target_modules: settings.targets,
      base_model_name_or_path: '/models/base',
      bias: 'none',
      fan_in_fan_out: false,
    });
    const { tensors } = await readSafetensors(join(out, peftFiles.weights));
    const q = tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!;
    expect(q.shape).toEqual([4, architecture.hiddenSize]);
    const down = tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight')!;
    expect(down.shape).toEqual([architecture.hiddenSize, 4]);
    expect(tensors.size).toBe(loraParameterSpecs(architecture, settings).length);
    const read = await readPeftAdapter(out, architecture);
    expect(read.settings).toEqual(settings);
    expect(read.baseModel).toBe('/models/base');
    expect(read.weights.get(loraNames.b(1, 'up_proj'))).toEqual(adapter.get(loraNames.b(1, 'up_proj')));
  });

  it('names the valid modules when --lora-targets has an unknown one', () => {
    expect(parseLoraTargets('q_proj, v_proj,q_proj')).toEqual(['q_proj', 'v_proj']);
    expect(() => parseLoraTargets('q_proj,attn')).toThrow(UserError);
    expect(() => parseLoraTargets('q_proj,attn')).toThrow(
      "--lora-targets: unknown module 'attn'; choose among q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (comma-separated)",
    );
  });
});
