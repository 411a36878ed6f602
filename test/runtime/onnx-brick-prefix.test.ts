/**
 * A local brick's calls share their prompt's template prefix (the system prompt of an `instruct`
 * brick): it is computed once per brick and each call prefills only its own question, with the
 * answers a full prefill gives.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrickResult, DecomposeOutput } from '../../src/runtime/bricks/brick.js';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { brickPromptPrefixes } from '../../src/runtime/bricks/onnx-brick-prefix.js';
import { generate } from '../../src/runtime/generation/generate.js';
import { exportPlainDecomposer, makeNanoBrick } from '../export/brick-fixture.js';

let root: string;
let brick: OnnxBrick;

beforeAll(async () => {
  const fixture = await makeNanoBrick('decomposer', 3, 0.2);
  root = fixture.root;
  const directory = join(fixture.root, 'plain');
  await exportPlainDecomposer(fixture, directory);
  brick = await OnnxBrick.load(directory, directory);
}, 60_000);

afterAll(async () => {
  await brick?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

const questions = [
  'How old is the mayor of the city where Ada Lovelace was born?',
  'What is 12 apples plus 30 apples?',
  'Which company did Grace Hopper found before Alan Turing moved to Paris?',
];

describe('prompt prefixes of a local brick', () => {
  it('cover the system prompt and template, computed once for every batch of calls', async () => {
    const prefixes = brickPromptPrefixes(brick);
    const messages = brick.messagesFor('decompose', { question: questions[0]!, maxSubquestions: 3 });
    const prompt = brick.promptTokens(messages);
    const prefix = await prefixes.prefixFor(messages, prompt);
    // The system prompt and template: most of a decompose prompt (the rest is the user's block).
    expect(prefix!.tokens.length).toBeGreaterThan(0.8 * prompt.length);
    expect(prefix!.tokens).toEqual(prompt.slice(0, prefix!.tokens.length));

    const inputs = questions.map((question) => ({ question, maxSubquestions: 3, maxNewTokens: 10 }));
    const forward = vi.spyOn(brick.decoder, 'forward');
    const first = await brick.callBatch('decompose', inputs);
    // The batch's first step starts after the prefix: 3 rows of their own tails, not whole prompts.
    expect(forward.mock.calls[0]![0]).toMatchObject({ batchSize: 3, pastLength: prefix!.tokens.length });
    forward.mockRestore();
    const second = await brick.callBatch('decompose', inputs.slice(1));
    expect(prefixes.computed).toBe(1);
    const raw = (outcome: PromiseSettledResult<unknown>) =>
      (outcome as PromiseFulfilledResult<BrickResult<DecomposeOutput>>).value.raw;
    // What a full prefill of each prompt alone gives.
    for (const [index, input] of inputs.entries()) {
      const own = brick.promptTokens(brick.messagesFor('decompose', input));
      const [alone] = await generate(brick.decoder, [own], {
        maxNewTokens: 10,
        decode: (tokens) => brick.tokenizer.decode(tokens, { skipSpecialTokens: true }),
      });
      expect(raw(first[index]!)).toBe(alone!.text);
      if (index > 0) expect(raw(second[index - 1]!)).toBe(alone!.text);
    }
  });

  it('serve a single call too: it starts after the prefix, with the answer of a full prefill', async () => {
    const input = { question: questions[2]!, maxSubquestions: 3, maxNewTokens: 10 };
    const prompt = brick.promptTokens(brick.messagesFor('decompose', input));
    const [full] = await generate(brick.decoder, [prompt], {
      maxNewTokens: 10,
      decode: (tokens) => brick.tokenizer.decode(tokens, { skipSpecialTokens: true }),
    });
    const forward = vi.spyOn(brick.decoder, 'forward');
    const alone = await brick.decompose!(input);
    expect(forward.mock.calls[0]![0].pastLength).toBeGreaterThan(0.8 * prompt.length);
    forward.mockRestore();
    expect(alone.raw).toBe(full!.text);
  });

  it('give a compact chat (the question alone) and a chat without a user message no prefix', async () => {
    const prefixes = brickPromptPrefixes(brick);
    const compact = [{ role: 'user' as const, content: questions[1]! }];
    expect(await prefixes.prefixFor(compact, brick.promptTokens(compact))).toBeUndefined();
    const system = [{ role: 'system' as const, content: 'You split questions.' }];
    expect(await prefixes.prefixFor(system, [1, 2, 3])).toBeUndefined();
  });
});
