import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChatExample } from '../../src/data/schemas.js';
import { readBrickManifest } from '../../src/bricks/brick-manifest.js';
import { renderDecomposePrompt, renderDecomposition } from '../../src/prompts/index.js';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { prepareRun } from '../../src/train/prepare-run.js';
import { trainStudent } from '../../src/train/train-loop.js';
import { generateExamples } from '../../src/worlds/index.js';
import { writeChats } from './chat-fixture.js';

const questions = generateExamples({ world: 'hops', n: 4, seed: 5, split: 'train' });

/** Decomposer chats as `dnc collect` writes them (instruct: system + user + assistant). */
function collectedChats(style: 'instruct' | 'compact'): ChatExample[] {
  return questions.map((example) => ({
    messages: [
      ...renderDecomposePrompt({ question: example.question, maxSubquestions: 6 }, style),
      { role: 'assistant', content: renderDecomposition(example.gold?.subquestions ?? []) },
    ],
  }));
}

async function dataFile(style: 'instruct' | 'compact'): Promise<{ root: string; file: string }> {
  const root = await mkdtemp(join(tmpdir(), 'dnc-prompt-format-'));
  const file = join(root, 'train.jsonl');
  await writeChats(file, collectedChats(style));
  return { root, file };
}

const base = { role: 'decomposer' as const, preset: 'nano', resume: false };

describe('the prompt format of a training run', () => {
  it('follows the data when not asked for, and compact drops the system messages of instruct data', async () => {
    const { root, file } = await dataFile('instruct');
    const asWritten = await prepareRun({
      ...base,
      dataFile: file,
      outDirectory: join(root, 'a'),
      overrides: {},
    });
    const compact = await prepareRun({
      ...base,
      dataFile: file,
      outDirectory: join(root, 'b'),
      overrides: { promptFormat: 'compact' },
    });
    expect(asWritten.settings.promptFormat).toBe('instruct');
    expect(compact.settings.promptFormat).toBe('compact');
    const system = compact.tokenizer.specialTokenIds.system;
    const tokens = (run: typeof compact) => run.train.documents.flatMap((document) => document.inputIds);
    expect(tokens(asWritten)).toContain(system);
    expect(tokens(compact)).not.toContain(system);
    // nano's 128-token rows: instruct examples (~100 tokens of instructions) overflow, compact ones fit.
    expect(compact.train.longExamples).toBe(0);
    expect(compact.train.documents).toHaveLength(questions.length);
    expect(asWritten.train.longExamples).toBeGreaterThan(0);

    const compactData = await dataFile('compact');
    const detected = await prepareRun({
      ...base,
      dataFile: compactData.file,
      outDirectory: join(compactData.root, 'c'),
      overrides: {},
    });
    expect(detected.settings.promptFormat).toBe('compact');
    await expect(
      prepareRun({
        ...base,
        dataFile: compactData.file,
        outDirectory: join(compactData.root, 'd'),
        overrides: { promptFormat: 'instruct' },
      }),
    ).rejects.toThrow(/has no system messages.*--prompt-format compact/);
  });

  it('is recorded in student.json and brick.json, and the exported brick decomposes in that style', async () => {
    const { root, file } = await dataFile('instruct');
    await trainStudent({
      ...base,
      dataFile: file,
      outDirectory: join(root, 'run'),
      overrides: {
        promptFormat: 'compact',
        maxSteps: 100,
        epochs: 1000,
        evalEvery: 100,
        checkpointEvery: 1000,
        warmupSteps: 10,
        learningRate: 1e-2,
        batchSize: 2,
        allowSmallData: true,
      },
      exportDirectory: join(root, 'brick'),
      threads: 1,
    });
    const student = JSON.parse(await readFile(join(root, 'run', 'student.json'), 'utf8'));
    expect(student.lineage.training.promptFormat).toBe('compact');
    expect((await readBrickManifest(join(root, 'brick'))).promptFormat.style).toBe('compact');
    const brick = await OnnxBrick.load(join(root, 'brick'), join(root, 'brick'));
    try {
      for (const example of questions) {
        const result = await brick.decompose!({ question: example.question, maxSubquestions: 6 });
        expect(result.subquestions).toEqual(example.gold?.subquestions ?? []);
      }
    } finally {
      await brick.close();
    }
  }, 60_000);
});
