/**
 * LoRA dropout (PEFT's `lora_dropout`): only the training graphs drop the LoRA path's input; the
 * loss graph (validation) and dropout 0 build exactly the graph without it; training still learns;
 * the run's dropout reaches the PEFT adapter_config.json.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Graph } from '../../src/engine/graph.js';
import { Trainer } from '../../src/engine/trainer.js';
import { buildLossGraph, buildStepGraph } from '../../src/engine/training-graphs.js';
import { peftFiles } from '../../src/export/peft-adapter.js';
import { loadPreset, type StudentArchitecture } from '../../src/student/config.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { initializeLora, type LoraSettings, loraSettingsSchema } from '../../src/student/lora.js';
import { batchFeeds, type Document, packRows } from '../../src/train/packing.js';
import { studentModel } from '../../src/train/student-model.js';
import { runCli } from '../helpers/cli.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

let architecture: StudentArchitecture;
let base: Map<string, Float32Array>;
const shape = { rows: 3, length: 16 }; // (B, T)
const withoutDropout: LoraSettings = {
  rank: 4,
  alpha: 8,
  dropout: 0,
  targets: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};
const withDropout: LoraSettings = { ...withoutDropout, dropout: 0.3 };
const documents: Document[] = [9, 12, 7, 10].map((length, index) => ({
  inputIds: Array.from({ length }, (_, position) => (position * 37 + index * 101 + 3) % 512),
  lossMask: Array.from({ length }, (_, position) => (position >= 2 ? 1 : 0)),
}));

beforeAll(async () => {
  architecture = (await loadPreset('nano')).architecture;
  base = initializeWeights({ ...architecture, initializerRange: 0.2 }, 3);
});

/** A and B both random (a fresh adapter has B = 0, where the LoRA path and its dropout do nothing). */
function trainedLookingAdapter(seed: number): Map<string, Float32Array> {
  const adapter = initializeLora(architecture, withoutDropout, seed);
  let state = seed;
  for (const [name, array] of adapter)
    if (name.includes('lora_B'))
      for (let index = 0; index < array.length; index += 1) {
        state = (state * 1103515245 + 12345) % 2147483648;
        array[index] = (state / 2147483648 - 0.5) * 0.4;
      }
  return adapter;
}

const dropoutNodes = (graph: Graph): number => graph.nodes.filter((node) => node.opType === 'Dropout').length;

async function trainerFor(settings: LoraSettings, dropoutSeed: number): Promise<Trainer> {
  return Trainer.create({
    model: studentModel(architecture, shape, settings, dropoutSeed),
    initialParameters: trainedLookingAdapter(5),
    frozenValues: base,
    optimizer: { weightDecay: 0 },
    session: { intraOpNumThreads: 1 },
  });
}

const feeds = () => batchFeeds(documents, packRows(documents, [0, 1, 2, 3], shape.length), shape, 0).feeds;

describe('LoRA dropout', () => {
  it('is a node per adapted module in the training graph only; dropout 0 adds none', () => {
    const optimizer = { weightDecay: 0 };
    const modules = withDropout.targets.length * architecture.numHiddenLayers;
    expect(dropoutNodes(buildStepGraph(studentModel(architecture, shape, withDropout, 1), optimizer))).toBe(
      modules,
    );
    expect(dropoutNodes(buildLossGraph(studentModel(architecture, shape, withDropout, 1)))).toBe(0);
    const plain = buildStepGraph(studentModel(architecture, shape, withoutDropout, 1), optimizer);
    expect(dropoutNodes(plain)).toBe(0);
  });

  it('changes the training loss on a batch but not the validation loss; a seed repeats its masks', async () => {
    const plain = await trainerFor(withoutDropout, 1);
    const dropped = await trainerFor(withDropout, 1);
    const again = await trainerFor(withDropout, 1);
    const otherSeed = await trainerFor(withDropout, 2);
    const batch = feeds();
    const validationPlain = await plain.evaluate(batch);
    expect(await dropped.evaluate(batch)).toBe(validationPlain); // the same loss graph, bit for bit
    // Learning rate 0: the step's loss is the training graph's loss at the same weights.
    const trainingPlain = (await plain.step([batch], 0)).loss;
    const trainingDropped = (await dropped.step([batch], 0)).loss;
    expect(Math.abs(trainingPlain - validationPlain)).toBeLessThan(1e-4);
    expect(Math.abs(trainingDropped - trainingPlain)).toBeGreaterThan(1e-3);
    expect((await again.step([batch], 0)).loss).toBe(trainingDropped);
    expect((await otherSeed.step([batch], 0)).loss).not.toBe(trainingDropped);
    // The next step draws new masks: the same weights, another training loss.
    expect((await dropped.step([batch], 0)).loss).not.toBe(trainingDropped);
    await Promise.all([plain, dropped, again, otherSeed].map((trainer) => trainer.release()));
  });

  it('accepts 0 ≤ p < 1 and refuses 1 in one line', () => {
    expect(loraSettingsSchema.safeParse(withDropout).success).toBe(true);
    const refused = loraSettingsSchema.safeParse({ ...withoutDropout, dropout: 1 });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0].message).toMatch(/must be below 1/);
  });
});

describe('dnc train --lora-dropout', () => {
  it('lowers the loss at dropout 0.1, repeats itself under --deterministic, and records lora_dropout in the PEFT adapter', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dnc-lora-dropout-'));
    const dataFile = join(root, 'train.jsonl');
    await writeChats(dataFile, decomposerChats(40, 7));
    const baseDirectory = join(root, 'base');
    const common = ['--data', dataFile, '--role', 'decomposer', '--allow-small-data'];
    const made = await runCli([
      'train',
      ...common,
      '--preset',
      'nano',
      '--out',
      join(root, 'base-run'),
      '--max-steps',
      '3',
      '--threads',
      '1',
      '--export',
      baseDirectory,
      '--json',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const loraArgs = (out: string): string[] => [
      'train',
      ...common,
      '--base',
      baseDirectory,
      '--lora-rank',
      '4',
      '--lora-dropout',
      '0.1',
      '--out',
      out,
      '--max-steps',
      '24',
      '--epochs',
      '100',
      '--batch-size',
      '4',
      '--learning-rate',
      '0.01',
      '--warmup-steps',
      '2',
      '--eval-every',
      '8',
      '--deterministic',
      '--json',
    ];
    const out = join(root, 'lora');
    const run = await runCli(loraArgs(out));
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.steps).toBe(24);
    expect(summary.finalTrainLoss).toBeLessThan(summary.initialLoss - 0.25); // measured: 6.13 → 5.78
    const repeated = await runCli(loraArgs(join(root, 'lora-again')));
    expect(repeated.code, repeated.stderr).toBe(0);
    const weights = async (directory: string) => readFile(join(directory, 'model.safetensors'));
    expect((await weights(join(root, 'lora-again'))).equals(await weights(out))).toBe(true);
    const adapterOut = join(root, 'adapter');
    const adapter = await runCli(['export', out, '--adapter-only', '--out', adapterOut, '--json']);
    expect(adapter.code, adapter.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(adapterOut, peftFiles.config), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_dropout: 0.1 });
  }, 240_000);
});
