import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChatExample } from '../../src/data/schemas.js';
import { readCheckpoint } from '../../src/export/checkpoint.js';
import { renderDecomposition } from '../../src/prompts/index.js';
import { trainStudent } from '../../src/train/train-loop.js';
import { mergeAnswerFacts } from '../../src/train/training-manifest.js';
import { generateExamples } from '../../src/worlds/index.js';
import { writeChats } from './chat-fixture.js';

function chats(world: 'hops' | 'math', count: number, seed: number): ChatExample[] {
  return generateExamples({ world, n: count, seed, split: 'train' }).map((example) => ({
    messages: [
      { role: 'user', content: example.question },
      { role: 'assistant', content: renderDecomposition(example.gold?.subquestions ?? []) },
    ],
  }));
}

const overrides = {
  epochs: 1000,
  evalEvery: 2,
  checkpointEvery: 1000,
  warmupSteps: 1,
  learningRate: 1e-2,
  batchSize: 4,
  sequenceLength: 128,
  allowSmallData: true,
};

describe('mergeAnswerFacts', () => {
  it('keeps every term and association of both runs, old first, and the longer answer', () => {
    const merged = mergeAnswerFacts(
      { longestAnswerTokens: 40, answerTerms: ['Which', 'What'], answerAssociations: { older: ['earlier'] } },
      {
        longestAnswerTokens: 30,
        answerTerms: ['How', 'What'],
        answerAssociations: { older: ['before', 'earlier'], more: ['add'] },
      },
    );
    expect(merged).toEqual({
      longestAnswerTokens: 40,
      answerTerms: ['Which', 'What', 'How'],
      answerAssociations: { older: ['earlier', 'before'], more: ['add'] },
    });
  });
});

describe('dnc train --grow-experts: decoding facts', () => {
  it("records the old student's answer terms and associations and keeps them in the grown checkpoint", async () => {
    const root = await mkdtemp(join(tmpdir(), 'dnc-grow-facts-'));
    const oldData = join(root, 'hops.jsonl');
    const newData = join(root, 'math.jsonl');
    await writeChats(oldData, chats('hops', 60, 3));
    await writeChats(newData, chats('math', 30, 8));
    const oldRun = join(root, 'old-run');
    const common = { role: 'decomposer' as const, resume: false, threads: 1 };
    await trainStudent({
      ...common,
      dataFile: oldData,
      preset: 'moe-nano',
      outDirectory: oldRun,
      overrides: { ...overrides, maxSteps: 2 },
    });
    const old = await readCheckpoint(oldRun);
    // The hops answers' own terms ("Which", "What", ...): what the test guards.
    expect(old.answerTerms.length).toBeGreaterThan(0);

    const grownRun = join(root, 'grown-run');
    await trainStudent({
      ...common,
      dataFile: newData,
      outDirectory: grownRun,
      growExperts: 1,
      from: oldRun,
      overrides: { ...overrides, maxSteps: 2 },
    });
    const growth = JSON.parse(await readFile(join(grownRun, 'growth.json'), 'utf8'));
    expect(growth.oldAnswerFacts.answerTerms).toEqual(old.answerTerms);
    expect(growth.oldAnswerFacts.answerAssociations).toEqual(old.answerAssociations);

    const grown = await readCheckpoint(grownRun);
    expect(grown.answerTerms.slice(0, old.answerTerms.length)).toEqual(old.answerTerms);
    for (const [key, words] of Object.entries(old.answerAssociations))
      expect(grown.answerAssociations[key]).toEqual(expect.arrayContaining(words));
    expect(Number(grown.metrics.longestAnswerTokens)).toBeGreaterThanOrEqual(
      Number(old.metrics.longestAnswerTokens),
    );
  }, 120_000);
});
