/**
 * `dnc train --base DIR --lora-rank R` end to end, on a base that dnc itself exported (a nano
 * student): the loss falls, checkpoints hold the adapter alone, a SIGKILLed run resumes exactly,
 * the merged export equals base + adapter, `--adapter-only` writes PEFT files, and bad requests fail
 * with one line.
 */
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { peftFiles } from '../../src/export/peft-adapter.js';
import { loraParameterSpecs, type LoraSettings, mergeLora } from '../../src/student/lora.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/student/safetensors.js';
import { loadPreset } from '../../src/student/config.js';
import { readTrainingLog } from '../../src/train/training-log.js';
import { runCli } from '../helpers/cli.js';
import { checkpointSteps, runUntilCheckpoint } from '../helpers/train-runs.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

const settings: LoraSettings = {
  rank: 4,
  alpha: 8,
  dropout: 0,
  targets: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};
let root: string;
let dataFile: string;
let base: string;
const steps = 24;

const loraArgs = (out: string, baseDirectory = base): string[] => [
  'train',
  '--data',
  dataFile,
  '--role',
  'decomposer',
  '--base',
  baseDirectory,
  '--lora-rank',
  '4',
  '--lora-targets',
  'q_proj,v_proj,o_proj,gate_proj,up_proj,down_proj',
  '--out',
  out,
  '--max-steps',
  String(steps),
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
  '--checkpoint-every',
  '8',
  '--threads',
  '1',
  '--allow-small-data',
  '--json',
];

async function tensors(file: string): Promise<Map<string, Float32Array>> {
  const { tensors: read } = decodeSafetensors(await readFile(file), file);
  return new Map([...read].map(([name, tensor]) => [name, tensor.data]));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-lora-run-'));
  dataFile = join(root, 'train.jsonl');
  await writeChats(dataFile, decomposerChats(40, 7));
  base = join(root, 'base');
  const made = await runCli([
    'train',
    '--data',
    dataFile,
    '--role',
    'decomposer',
    '--preset',
    'nano',
    '--out',
    join(root, 'base-run'),
    '--max-steps',
    '3',
    '--threads',
    '1',
    '--allow-small-data',
    '--export',
    base,
    '--json',
  ]);
  expect(made.code, made.stderr).toBe(0);
}, 120_000);

describe('dnc train --base with LoRA', () => {
  it('lowers the loss, saves only the adapter, resumes exactly after SIGKILL, and exports merged and PEFT', async () => {
    const straightOut = join(root, 'straight');
    const straight = await runCli(loraArgs(straightOut));
    expect(straight.code, straight.stderr).toBe(0);
    const summary = JSON.parse(straight.stdout);
    expect(summary.steps).toBe(steps);
    expect(summary.finalTrainLoss).toBeLessThan(summary.initialLoss - 0.3);
    expect(summary.peakRssMb).toBeGreaterThan(0);
    const nano = (await loadPreset('nano')).architecture;
    const loraSizes = loraParameterSpecs(nano, settings).map((spec) => spec.shape[0] * spec.shape[1]);
    expect(summary.trainableParameters).toBe(loraSizes.reduce((sum, size) => sum + size, 0));
    const saved = await tensors(join(straightOut, 'model.safetensors'));
    expect([...saved.keys()].every((name) => /\.lora_[AB]\.weight$/.test(name))).toBe(true);

    // SIGKILL after the step-8 checkpoint, then --resume: the same curve and the same adapter.
    const killedOut = join(root, 'killed');
    const killed = await runUntilCheckpoint(loraArgs(killedOut), killedOut, 8);
    expect(killed.signal).toBe('SIGKILL');
    expect(await checkpointSteps(killedOut)).not.toContain(steps);
    const resumed = await runCli([...loraArgs(killedOut), '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).resumedFromStep).toBeGreaterThanOrEqual(8);
    const straightLog = await readTrainingLog(join(straightOut, 'train-log.jsonl'));
    const resumedLog = await readTrainingLog(join(killedOut, 'train-log.jsonl'));
    expect(resumedLog.map((entry) => entry.step)).toEqual(straightLog.map((entry) => entry.step));
    resumedLog.forEach((entry, index) => {
      const expected = straightLog[index];
      if ('loss' in entry && 'loss' in expected) expect(entry.loss).toBeCloseTo(expected.loss, 5);
    });
    const resumedAdapter = await tensors(join(killedOut, 'model.safetensors'));
    for (const [name, values] of saved) {
      const other = resumedAdapter.get(name)!;
      expect(Math.max(...values.map((value, index) => Math.abs(value - other[index]))), name).toBeLessThan(
        1e-6,
      );
    }

    // Merged export = base + (alpha/r)·B·A; --adapter-only writes the PEFT files.
    const merged = await runCli(['export', straightOut, '--out', join(root, 'merged'), '--json']);
    expect(merged.code, merged.stderr).toBe(0);
    const mergedWeights = await tensors(join(root, 'merged', 'model.safetensors'));
    const expected = mergeLora(nano, await tensors(join(base, 'model.safetensors')), settings, saved);
    for (const [name, values] of expected) expect(mergedWeights.get(name), name).toEqual(values);
    const adapterOut = join(root, 'adapter');
    const adapter = await runCli(['export', straightOut, '--adapter-only', '--out', adapterOut, '--json']);
    expect(adapter.code, adapter.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(adapterOut, peftFiles.config), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, base_model_name_or_path: base });
    const peft = await tensors(join(adapterOut, peftFiles.weights));
    expect(peft.get('base_model.model.model.layers.0.mlp.up_proj.lora_B.weight')).toEqual(
      saved.get('model.layers.0.mlp.up_proj.lora_B.weight'),
    );
  }, 240_000);

  it('refuses a changed base on --resume, LoRA flags without --base, and an unknown target, in one line each', async () => {
    const copy = join(root, 'base-copy');
    await cp(base, copy, { recursive: true });
    const out = join(root, 'changed');
    const first = await runCli([...loraArgs(out, copy).map((arg) => (arg === String(steps) ? '8' : arg))]);
    expect(first.code, first.stderr).toBe(0);
    const weightsFile = join(copy, 'model.safetensors');
    const weights = await tensors(weightsFile);
    weights.get('model.norm.weight')![0] += 1;
    const { writeFile } = await import('node:fs/promises');
    const shapes = decodeSafetensors(await readFile(weightsFile), weightsFile).tensors;
    await writeFile(
      weightsFile,
      encodeSafetensors(
        new Map(
          [...shapes].map(([name, tensor]) => [name, { shape: tensor.shape, data: weights.get(name)! }]),
        ),
      ),
    );
    const resumed = await runCli([...loraArgs(out, copy), '--resume']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr.trim()).toMatch(
      /^dnc: the base model in .* is not the one this run was trained from .*; restore the original base, or train afresh$/,
    );

    const noBase = await runCli([
      'train',
      '--data',
      dataFile,
      '--role',
      'decomposer',
      '--preset',
      'nano',
      '--out',
      join(root, 'x'),
      '--lora-rank',
      '4',
    ]);
    expect(noBase.code).toBe(1);
    expect(noBase.stderr.trim().split('\n')).toHaveLength(1);
    expect(noBase.stderr).toMatch(/LoRA adapts a pretrained model: give it with --base MODEL_DIR/);

    const badTarget = await runCli([...loraArgs(join(root, 'y')), '--lora-targets', 'q_proj,attn']);
    expect(badTarget.code).toBe(1);
    expect(badTarget.stderr).toMatch(
      /unknown module 'attn'; choose among q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/,
    );
    const withoutRank = loraArgs(join(root, 'z'));
    withoutRank.splice(withoutRank.indexOf('--lora-rank'), 2);
    const alphaAlone = await runCli([...withoutRank, '--lora-alpha', '16']);
    expect(alphaAlone.stderr).toMatch(/need --lora-rank R/);
  }, 120_000);
});
