import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { optimizerNames } from '../../src/engine/optimizer.js';
import { readCheckpoint } from '../../src/export/checkpoint.js';
import { loadPreset } from '../../src/student/config.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { trainBpe } from '../../src/tokenizer/bpe-trainer.js';
import { writeTokenizerFiles } from '../../src/tokenizer/tokenizer-files.js';
import {
  CHECKPOINT_MAGIC,
  findLatestCheckpoint,
  readTrainingCheckpoint,
  type TrainingState,
  trainingFiles,
  writeTrainingCheckpoint,
} from '../../src/train/training-checkpoint.js';
import { resolveSettings } from '../../src/train/training-settings.js';

it('checkpoints round-trip exactly, are written whole or not at all, and carry a checked magic and version', async () => {
  const out = await mkdtemp(join(tmpdir(), 'dnc-train-checkpoint-'));
  const preset = await loadPreset('nano');
  const architecture = preset.architecture;
  await writeTokenizerFiles(out, trainBpe(['a small corpus of words'], { vocabSize: 300 }), {
    modelMaxLength: 256,
  });
  const weights = initializeWeights(architecture, 2);
  const moments = new Map<string, Float32Array>();
  for (const [name, values] of weights) {
    moments.set(
      optimizerNames.firstMoment(name),
      values.map((value) => value * 0.5),
    );
    moments.set(
      optimizerNames.secondMoment(name),
      values.map((value) => value * value),
    );
  }
  const state = (step: number): TrainingState => ({
    magic: CHECKPOINT_MAGIC,
    version: 1,
    role: 'solver',
    preset: 'nano',
    architecture,
    settings: resolveSettings(preset, {}),
    dataHash: 'sha256:abc',
    teacher: 'reference',
    step,
    data: { epoch: 1, batchCursor: 3, batchesPerEpoch: 7 },
    random: { generator: 'xoroshiro128plus', seed: 1 },
    schedule: { peak: 1e-3, minimum: 1e-4, warmupSteps: 2, totalSteps: 20 },
    progress: {
      tokens: 10,
      targetTokens: 5,
      seconds: 1,
      initialLoss: 6,
      trainLoss: 2,
      validationLoss: null,
      bestValidationLoss: null,
      bestStep: null,
      evaluationsWithoutImprovement: 0,
    },
    createdAt: 'now',
  });
  const manifest = { role: 'solver' as const, architecture, metrics: { steps: 10 } };
  for (const step of [10, 20, 30])
    await writeTrainingCheckpoint(out, { state: state(step), weights, moments }, manifest, 2);
  expect((await readdir(join(out, trainingFiles.checkpoints))).sort()).toEqual([
    'step-00000020',
    'step-00000030',
  ]);
  // A write killed midway leaves only a staging directory, which readers ignore.
  await mkdir(join(out, trainingFiles.checkpoints, '.staging-step-00000040-x'));
  const latest = (await findLatestCheckpoint(out))!;
  expect(latest).toMatch(/step-00000030$/);
  const read = await readTrainingCheckpoint(latest);
  expect(read.state).toEqual(state(30));
  expect(read.weights).toEqual(weights);
  expect(read.moments).toEqual(moments);
  expect((await readCheckpoint(out)).weights).toEqual(weights); // the export view
  expect((await readCheckpoint(latest)).role).toBe('solver'); // a step directory exports alone too

  const stateFile = join(latest, trainingFiles.state);
  const saved = JSON.parse(await readFile(stateFile, 'utf8'));
  await writeFile(stateFile, JSON.stringify({ ...saved, version: 2 }));
  await expect(readTrainingCheckpoint(latest)).rejects.toThrow(
    /checkpoint version 2 but this dnc reads version 1/,
  );
  await writeFile(stateFile, JSON.stringify({ ...saved, magic: 'other' }));
  await expect(readTrainingCheckpoint(latest)).rejects.toThrow(/is not a dnc training checkpoint/);
});
