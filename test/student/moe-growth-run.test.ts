import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/export/checkpoint.js';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { expertWeightName, routerWeightName } from '../../src/student/moe-config.js';
import { trainStudent } from '../../src/train/train-loop.js';
import { runCli } from '../helpers/cli.js';
import { decomposerChats, writeChats } from '../train/chat-fixture.js';

const overrides = {
  epochs: 1000,
  evalEvery: 4,
  checkpointEvery: 1000,
  warmupSteps: 1,
  learningRate: 1e-2,
  batchSize: 4,
  sequenceLength: 128,
  allowSmallData: true,
};

const sameBits = (left: Float32Array, right: Float32Array): boolean =>
  Buffer.from(left.buffer, left.byteOffset, left.byteLength).equals(
    Buffer.from(right.buffer, right.byteOffset, right.byteLength),
  );

describe('dnc train --grow-experts', () => {
  it('trains an MoE student, grows it by 2 experts on new data (with a resume), keeps every old weight and exports a brick', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dnc-moe-grow-'));
    const oldData = join(root, 'old.jsonl');
    const newData = join(root, 'new.jsonl');
    await writeChats(oldData, decomposerChats(40, 3));
    await writeChats(newData, decomposerChats(40, 8)); // enough for a validation set (routing in the log)
    const oldRun = join(root, 'old-run');
    await trainStudent({
      dataFile: oldData,
      role: 'decomposer',
      preset: 'moe-nano',
      outDirectory: oldRun,
      resume: false,
      overrides: { ...overrides, maxSteps: 6 },
      threads: 1,
    });
    const old = await readCheckpoint(oldRun);
    const log = (await readFile(join(oldRun, 'train-log.jsonl'), 'utf8')).trim().split('\n');
    const evaluations = log.map((line) => JSON.parse(line)).filter((entry) => 'validationLoss' in entry);
    expect(evaluations.length).toBeGreaterThan(0);
    for (const entry of evaluations) {
      expect(entry.routing).toHaveLength(2); // both layers are mixtures
      expect(entry.routing[0].shares).toHaveLength(4);
    }
    expect(old.architecture.moe?.experts).toBe(4);

    const grownRun = join(root, 'grown-run');
    const common = ['--role', 'decomposer', '--data', newData, '--out', grownRun, '--threads', '1'];
    const flags = [
      '--batch-size',
      '4',
      '--sequence-length',
      '128',
      '--eval-every',
      '4',
      '--allow-small-data',
    ];
    const first = await runCli([
      'train',
      ...common,
      ...flags,
      '--grow-experts',
      '2',
      '--from',
      oldRun,
      '--max-steps',
      '4',
      '--json',
    ]);
    expect(first.code).toBe(0);
    const resumed = await runCli(['train', ...common, '--resume', '--max-steps', '8', '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ steps: 8, resumedFromStep: 4 });
    // dnc train draws the log's routing (6 experts after growth) beside it.
    expect(resumed.stderr).toMatch(/routing over training: .*routing-over-training\.svg/);
    expect(await readFile(join(grownRun, 'routing-over-training.svg'), 'utf8')).toContain('E5');
    expect(JSON.parse(await readFile(join(grownRun, 'growth.json'), 'utf8'))).toMatchObject({
      oldExperts: 4,
      addedExperts: 2,
    });

    const grown = await readCheckpoint(grownRun);
    expect(grown.architecture.moe?.experts).toBe(6);
    const C = grown.architecture.hiddenSize;
    for (const [name, before] of old.weights) {
      const after = grown.weights.get(name)!;
      if (name.endsWith('.gate.weight')) {
        expect(sameBits(after.subarray(0, 4 * C), before)).toBe(true);
        expect(after.length).toBe(6 * C);
      } else expect(sameBits(after, before), name).toBe(true);
    }
    for (let layer = 0; layer < 2; layer += 1) {
      expect(grown.weights.has(expertWeightName(layer, 5, 'w2'))).toBe(true);
      expect(
        grown.weights
          .get(routerWeightName(layer))!
          .subarray(4 * C)
          .some((value) => value !== 0),
      ).toBe(true);
    }

    const exported = await runCli(['export', grownRun, '--out', join(root, 'brick')]);
    expect(exported.code).toBe(0);
    const config = JSON.parse(await readFile(join(root, 'brick', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'mixtral', num_local_experts: 6, num_experts_per_tok: 2 });
    const brick = await OnnxBrick.load(join(root, 'brick'), join(root, 'brick'));
    try {
      const completion = await brick.complete([{ role: 'user', content: 'Who founded the company?' }]);
      expect(typeof completion.text).toBe('string');
    } finally {
      await brick.close();
    }
  }, 120_000);

  it('refuses --grow-experts without --from, and a dense student, in one line', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dnc-moe-grow-errors-'));
    const data = join(root, 'data.jsonl');
    await writeChats(data, decomposerChats(6, 3));
    const missing = await runCli([
      'train',
      '--role',
      'decomposer',
      '--data',
      data,
      '--out',
      join(root, 'a'),
      '--grow-experts',
      '2',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/needs both --grow-experts N and --from CHECKPOINT/);
    const denseRun = join(root, 'dense');
    await trainStudent({
      dataFile: data,
      role: 'decomposer',
      preset: 'nano',
      outDirectory: denseRun,
      resume: false,
      overrides: { ...overrides, maxSteps: 1 },
      threads: 1,
    });
    const dense = await runCli([
      'train',
      '--role',
      'decomposer',
      '--data',
      data,
      '--out',
      join(root, 'b'),
      '--grow-experts',
      '2',
      '--from',
      denseRun,
    ]);
    expect(dense.code).toBe(1);
    expect(dense.stderr).toMatch(/has no mixture-of-experts layers to grow/);
  }, 60_000);
});
