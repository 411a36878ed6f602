/**
 * Full fine-tuning of a pretrained base (`dnc train --base DIR` without --lora-rank), the pipeline
 * keys of pretrained students, and the repository's LoRA pipeline file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/export/checkpoint.js';
import { loadPretrainedCheckpoint } from '../../src/student/hugging-face-checkpoint.js';
import { pipelineSchema } from '../../src/pipeline/pipeline-schema.js';
import { findLatestCheckpoint, readTrainingCheckpoint } from '../../src/train/training-checkpoint.js';
import { trainStudent } from '../../src/train/train-loop.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { checkpointCases, temporaryDirectory, writeCheckpoint } from '../student/hugging-face-fixtures.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

let root: string;
let base: string;
let dataFile: string;

beforeAll(async () => {
  root = await temporaryDirectory('dnc-pretrained-full-');
  base = join(root, 'base');
  await writeCheckpoint(
    base,
    checkpointCases.find((entry) => entry.name === 'llama3-scaled-untied-bf16-sharded')!,
  );
  dataFile = join(root, 'train.jsonl');
  await writeChats(dataFile, decomposerChats(30, 4));
});

const overrides = {
  maxSteps: 8,
  warmupSteps: 1,
  sequenceLength: 128,
  longExamples: 'truncate' as const,
  learningRate: 0.005,
  allowSmallData: true,
};

describe('full fine-tuning of a pretrained base', () => {
  it('trains every weight from the base, records the base in the checkpoint and exports with its config', async () => {
    const out = join(root, 'full');
    const summary = await trainStudent({
      dataFile,
      role: 'decomposer',
      outDirectory: out,
      resume: false,
      base,
      threads: 1,
      overrides,
    });
    const { weights: original, architecture } = await loadPretrainedCheckpoint(base);
    expect(summary.trainableParameters).toBe(
      [...original.values()].reduce((sum, array) => sum + array.length, 0),
    );
    expect(summary.finalTrainLoss!).toBeLessThan(summary.initialLoss!);
    const checkpoint = await readTrainingCheckpoint((await findLatestCheckpoint(out))!);
    expect(checkpoint.state.base).toMatchObject({ directory: base, lora: null });
    expect([...checkpoint.weights.keys()].sort()).toEqual([...original.keys()].sort());
    expect(checkpoint.weights.get('lm_head.weight')).not.toEqual(original.get('lm_head.weight'));
    const exported = await readCheckpoint(out);
    expect(exported.architecture.modelType).toBe(architecture.modelType);
    expect(exported.adapter).toBeUndefined();
    const brick = await runCli(['export', out, '--out', join(root, 'brick'), '--json']);
    expect(brick.code, brick.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(root, 'brick', 'config.json'), 'utf8'));
    expect(config.rope_scaling?.rope_type).toBe('llama3');
    const brickJson = JSON.parse(await readFile(join(root, 'brick', 'brick.json'), 'utf8'));
    expect(brickJson.decoding).toBeUndefined(); // every decoding helper off
    const adapterOnly = await runCli(['export', out, '--adapter-only', '--out', join(root, 'no-adapter')]);
    expect(adapterOnly.code).toBe(1);
    expect(adapterOnly.stderr).toMatch(/was not trained with LoRA .* export it without --adapter-only/);
  }, 120_000);

  it('resuming a full run with LoRA flags, and a LoRA dropout of 1, fail in one line', async () => {
    const out = join(root, 'full-resume');
    await trainStudent({
      dataFile,
      role: 'decomposer',
      outDirectory: out,
      resume: false,
      base,
      threads: 1,
      overrides: { ...overrides, maxSteps: 2 },
    });
    await expect(
      trainStudent({
        dataFile,
        role: 'decomposer',
        outDirectory: out,
        resume: true,
        base,
        overrides: {},
        lora: { rank: 2, alpha: 8, dropout: 0, targets: ['q_proj'] },
      }),
    ).rejects.toThrow(/trains the whole base; drop the --lora-\* flags/);
    const dropout = await runCli([
      'train',
      '--data',
      dataFile,
      '--role',
      'decomposer',
      '--base',
      base,
      '--out',
      join(root, 'd'),
      '--lora-rank',
      '2',
      '--lora-dropout',
      '1',
    ]);
    expect(dropout.code).toBe(1);
    expect(dropout.stderr.trim().split('\n')).toHaveLength(1);
    expect(dropout.stderr).toMatch(/--lora-dropout is a probability from 0 up to below 1/);
  }, 120_000);
});

describe('pipeline students with a base', () => {
  const pipeline = (student: Record<string, unknown>) => ({
    name: 'p',
    datasets: [{ name: 'd', world: 'math', split: 'train', n: 10, seed: 1 }],
    teacher: 'reference',
    students: [{ name: 's', role: 'decomposer', ...student }],
  });
  it('takes base + lora instead of a preset, and names what is wrong otherwise', () => {
    expect(pipelineSchema.safeParse(pipeline({ base: 'models/x', lora: { rank: 8 } })).success).toBe(true);
    const both = pipelineSchema.safeParse(pipeline({ base: 'models/x', preset: 'nano' }));
    expect(both.success).toBe(false);
    expect(JSON.stringify(both.error?.issues)).toMatch(
      /needs a `preset` \(trained from scratch\) or a `base`/,
    );
    const loraAlone = pipelineSchema.safeParse(pipeline({ preset: 'nano', lora: { rank: 8 } }));
    expect(JSON.stringify(loraAlone.error?.issues)).toMatch(/`lora` needs a `base`/);
    const badTarget = pipelineSchema.safeParse(pipeline({ base: 'm', lora: { rank: 8, targets: ['attn'] } }));
    expect(badTarget.success).toBe(false);
  });

  it('pipelines/gsm8k-socratic-lora.json is a valid pipeline with a LoRA student', async () => {
    const file = join(repoRoot, 'pipelines', 'gsm8k-socratic-lora.json');
    const parsed = pipelineSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    expect(parsed.students[0]).toMatchObject({ base: 'models/SmolLM2-135M-Instruct', lora: { rank: 16 } });
    expect(parsed.teacher).toBe('gold');
  });
});
