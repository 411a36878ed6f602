import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { trainStudent } from '../../src/train/train-loop.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

it('nano overfits a few chat examples and greedy decoding of the exported brick reproduces the answers', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dnc-train-overfit-'));
  const chats = decomposerChats(6, 3);
  const dataFile = join(root, 'train.jsonl');
  await writeChats(dataFile, chats);
  const summary = await trainStudent({
    dataFile,
    role: 'decomposer',
    preset: 'nano',
    outDirectory: join(root, 'run'),
    resume: false,
    overrides: {
      maxSteps: 120,
      epochs: 1000,
      evalEvery: 40,
      checkpointEvery: 1000,
      warmupSteps: 10,
      learningRate: 1e-2,
      batchSize: 4,
      allowSmallData: true, // six examples, no validation set: overfitting them is the point
    },
    exportDirectory: join(root, 'brick'),
    threads: 1,
  });
  expect(summary.steps).toBe(120);
  expect(summary.skippedLongExamples).toBe(0);
  expect(summary.validationExamples).toBe(0); // too few examples to hold some out
  expect(summary.initialLoss).toBeGreaterThan(4);
  expect(summary.finalTrainLoss).toBeLessThan(0.05);
  const brick = await OnnxBrick.load(join(root, 'brick'), join(root, 'brick'));
  try {
    for (const chat of chats) {
      const prompt = chat.messages.filter((message) => message.role !== 'assistant');
      const completion = await brick.complete(prompt);
      expect(completion.text).toBe(chat.messages.at(-1)!.content);
    }
  } finally {
    await brick.close();
  }
}, 60_000);
