import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dataFloorProblem, expectedCounts } from '../../src/train/data-floor.js';
import { trainStudent, type TrainOptions } from '../../src/train/train-loop.js';
import { runCli } from '../helpers/cli.js';
import { decomposerChats, writeChats } from './chat-fixture.js';

describe('the training floor', () => {
  it('needs 50 usable examples and a validation set', () => {
    expect(expectedCounts(2)).toEqual({ train: 2, validation: 0 });
    expect(expectedCounts(60)).toEqual({ train: 56, validation: 4 });
    expect(dataFloorProblem(expectedCounts(50))).toBeNull();
    expect(dataFloorProblem(expectedCounts(49))).toBe(
      '49 usable examples (45 for training, 4 for validation); training needs at least 50',
    );
    // Enough examples, but the long ones were skipped and no validation example is left.
    expect(dataFloorProblem({ train: 80, validation: 0 })).toMatch(
      /^80 usable examples \(80 for training, 0 for validation\); training needs a validation set/,
    );
  });
});

let root: string;
let small: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-data-floor-'));
  small = join(root, 'small.jsonl');
  await writeChats(small, decomposerChats(30, 3));
});

const options = (name: string, allowSmallData?: boolean): TrainOptions => ({
  dataFile: small,
  role: 'decomposer',
  preset: 'nano',
  outDirectory: join(root, name),
  resume: false,
  overrides: { maxSteps: 2, batchSize: 2, promptFormat: 'compact', allowSmallData },
  threads: 1,
});

describe('dnc train below the floor', () => {
  it('refuses, saying how many examples there were and how to override', async () => {
    await expect(trainStudent(options('refused'))).rejects.toThrow(
      `${small} has 30 usable examples (26 for training, 4 for validation); training needs at least 50; ` +
        'give it more examples (collect more, or use a filter that keeps more), ' +
        'or pass --allow-small-data (pipeline student: "allowSmallData": true) to train anyway',
    );
  });

  it('trains with allowSmallData', async () => {
    const summary = await trainStudent(options('allowed', true));
    expect(summary).toMatchObject({ steps: 2, trainExamples: 26, validationExamples: 4 });
  });

  it('fails on the command line with one line', async () => {
    const result = await runCli([
      'train',
      '--data',
      small,
      '--role',
      'decomposer',
      '--preset',
      'nano',
      '--out',
      join(root, 'cli'),
      '--max-steps',
      '2',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dnc: .*small\.jsonl has 30 usable examples .* --allow-small-data/);
  });
});
