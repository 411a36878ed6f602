import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatExample } from '../../src/data/schemas.js';
import { decomposerChats, writeChats } from '../train/chat-fixture.js';
import { runCli } from '../helpers/cli.js';

let root: string;
let dataFile: string;

const train = (extra: string[]) =>
  runCli([
    'train',
    '--role',
    'decomposer',
    '--preset',
    'nano',
    '--threads',
    '1',
    '--allow-small-data', // a few dozen examples: under the training floor on purpose
    '--json',
    ...extra,
  ]);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-train-cli-'));
  dataFile = join(root, 'train.jsonl');
  await writeChats(dataFile, decomposerChats(24, 9));
});

describe('dnc train input errors', () => {
  it('names the file and line of a malformed example', async () => {
    const file = join(root, 'bad.jsonl');
    const chats = decomposerChats(3, 2).map((chat) => JSON.stringify(chat));
    await writeFile(
      file,
      `${chats[0]}\n${chats[1]}\n{"messages": [{"role": "user", "content": "no answer"}]}\n`,
    );
    const result = await train(['--data', file, '--out', join(root, 'bad-run')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/bad\.jsonl:3: .*assistant message/);
  });

  it('refuses an empty training set and says what file to give', async () => {
    const file = join(root, 'empty.jsonl');
    await writeFile(file, '\n');
    const result = await train(['--data', file, '--out', join(root, 'empty-run')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/holds no training examples; give a chat JSONL file/);
  });

  it('counts examples longer than the context and skips or truncates them as asked', async () => {
    const file = join(root, 'with-long.jsonl');
    const long: ChatExample = {
      messages: [
        { role: 'user', content: 'Say it long.' },
        { role: 'assistant', content: 'Who founded it? '.repeat(60) },
      ],
    };
    await writeChats(file, [...decomposerChats(21, 9), long, long, long]);
    const common = ['--data', file, '--max-steps', '1', '--eval-every', '1'];
    const skipped = await train([...common, '--out', join(root, 'skip')]);
    expect(skipped.code, skipped.stderr).toBe(0);
    const skipSummary = JSON.parse(skipped.stdout);
    expect(skipSummary.skippedLongExamples).toBe(3);
    expect(skipped.stderr).toMatch(/3 examples are longer than the 128-token context: skipped/);
    const truncated = await train([
      ...common,
      '--long-examples',
      'truncate',
      '--out',
      join(root, 'truncate'),
    ]);
    const truncateSummary = JSON.parse(truncated.stdout);
    expect(truncateSummary.skippedLongExamples).toBe(0);
    expect(truncateSummary.truncatedLongExamples).toBe(skipSummary.skippedLongExamples);
    expect(truncateSummary.trainExamples + truncateSummary.validationExamples).toBe(24);
  }, 60_000);
});

describe('dnc train run directory', () => {
  it('reports the summary fields, refuses to start over an existing run, and needs a checkpoint to resume', async () => {
    const out = join(root, 'run');
    const first = await train(['--data', dataFile, '--out', out, '--max-steps', '4', '--eval-every', '2']);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    for (const key of [
      'params',
      'steps',
      'tokens',
      'initialLoss',
      'finalTrainLoss',
      'finalValLoss',
      'tokensPerSecond',
      'seconds',
      'out',
      'paddingFraction',
      'skippedLongExamples',
    ])
      expect(summary, key).toHaveProperty(key);
    expect(summary.validationExamples).toBeGreaterThanOrEqual(4);
    expect(typeof summary.finalValLoss).toBe('number');
    const again = await train(['--data', dataFile, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a training run; pass --resume/);
    const nothing = await train(['--data', dataFile, '--out', join(root, 'none'), '--resume']);
    expect(nothing.stderr).toMatch(/holds no checkpoint to resume from/);
    const changed = await train(['--data', dataFile, '--out', out, '--resume', '--batch-size', '3']);
    expect(changed.stderr).toMatch(/batchSize is 3 here and 8 in the checkpoint/);
  }, 60_000);

  it('stops on an exploding loss without checkpointing the bad state, and says so', async () => {
    const out = join(root, 'diverged');
    const result = await train([
      '--data',
      dataFile,
      '--out',
      out,
      '--learning-rate',
      '50',
      '--warmup-steps',
      '0',
      '--checkpoint-every',
      '1',
      '--max-steps',
      '40',
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /training diverged at step (\d+) \(loss .*\); the last good checkpoint is .*step-\d+ .*lower the learning rate/,
    );
    const divergedAt = Number(/diverged at step (\d+)/.exec(result.stderr)![1]);
    const saved = (await readdir(join(out, 'checkpoints'))).map((name) => Number(name.slice(5)));
    expect(Math.max(...saved)).toBe(divergedAt - 1);
  }, 60_000);
});
