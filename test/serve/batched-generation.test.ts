/**
 * The local brick's batched entry point (`callBatch`, onnx-brick-batch.ts): several calls as one
 * generation give each call what running it alone gives (own budget, own copy processors, the
 * fault check's resampling after the batch), and a call cancelled in the middle of the batch
 * leaves it — the rows still decoding shrink — while the others finish.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrickResult, DecomposeInput, DecomposeOutput } from '../../src/runtime/bricks/brick.js';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { exportPlainDecomposer, makeNanoBrick } from '../export/brick-fixture.js';

let root: string;
let plain: OnnxBrick;
let helped: OnnxBrick;

const questions = [
  'How old is the mayor of the city where Ada Lovelace was born?',
  'What is 12 apples plus 30 apples?',
  'Which company did Grace Hopper found before Alan Turing moved to Paris?',
];

beforeAll(async () => {
  const fixture = await makeNanoBrick('decomposer', 3, 0.2);
  root = fixture.root;
  const directory = join(fixture.root, 'plain');
  await exportPlainDecomposer(fixture, directory);
  plain = await OnnxBrick.load(directory, directory);
  // The same weights with the copy helpers and the fault check (stateful per-prompt processors).
  helped = await OnnxBrick.load(directory, directory, {
    decoding: { copyConstraint: true, nameOrder: true, copyBias: 8, coverageSamples: 2 },
    maxNewTokens: 12, // the fault check's samples run to the brick's own budget
  });
}, 60_000);

afterAll(async () => {
  await plain?.close();
  await helped?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

const inputs = (): DecomposeInput[] =>
  questions.map((question, index) => ({ question, maxSubquestions: 3, maxNewTokens: 6 + 4 * index }));

/** Log-probabilities to 5 digits: a batch's matrix products round differently in the last bits. */
function rounded(confidence: DecomposeOutput['confidence']) {
  return Object.fromEntries(
    Object.entries(confidence ?? {}).map(([key, value]) => [key, Number((value as number).toPrecision(5))]),
  );
}

/** What a caller compares: the answer, its tokens and finish reason (not timings). */
function answerOf(result: BrickResult<DecomposeOutput>) {
  return {
    subquestions: result.subquestions,
    raw: result.raw,
    usage: result.usage,
    finishReason: result.finishReason,
    warnings: result.warnings,
    confidence: rounded(result.confidence),
  };
}

describe('batched calls to a local brick', () => {
  for (const [name, brick] of [
    ['plain decoding', () => plain],
    ['copy helpers and fault check', () => helped],
  ] as const)
    it(`give each call the answer it gets alone (${name})`, async () => {
      const alone = [];
      for (const input of inputs()) alone.push(answerOf(await brick().decompose!(input)));
      const batched = await brick().callBatch('decompose', inputs());
      expect(batched.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      const answers = batched.map((outcome) =>
        answerOf((outcome as PromiseFulfilledResult<BrickResult<DecomposeOutput>>).value),
      );
      expect(answers).toEqual(alone);
      // Each call kept its own budget (6, 10, 14 tokens) inside the one generation (with the fault
      // check on, the samples' tokens add to the call's usage).
      if (brick() === plain) expect(answers.map((answer) => answer.usage.outputTokens)).toEqual([6, 10, 14]);
    }, 60_000);

  it('a call cancelled during the batch leaves it; the others finish with their own answers', async () => {
    const budgets = [40, 40, 40];
    const make = (): DecomposeInput[] =>
      questions.map((question, index) => ({ question, maxSubquestions: 3, maxNewTokens: budgets[index]! }));
    const alone = [];
    for (const input of make()) alone.push(answerOf(await plain.decompose!(input)));
    const controller = new AbortController();
    const batchSizes: number[] = [];
    const forward = plain.decoder.forward.bind(plain.decoder);
    const spy = vi.spyOn(plain.decoder, 'forward').mockImplementation(async (batch, cache) => {
      batchSizes.push(batch.batchSize);
      // The client of the first call goes away after the third decode step.
      if (batchSizes.length === 4) controller.abort(new Error('the client disconnected'));
      return forward(batch, cache);
    });
    try {
      const calls = make();
      calls[0] = { ...calls[0]!, signal: controller.signal };
      const outcomes = await plain.callBatch('decompose', calls);
      expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: new Error('the client disconnected') });
      for (const index of [1, 2]) {
        expect(outcomes[index]!.status).toBe('fulfilled');
        const value = (outcomes[index] as PromiseFulfilledResult<BrickResult<DecomposeOutput>>).value;
        expect(answerOf(value)).toEqual(alone[index]);
      }
      // The cancelled row stopped at its next step: the batch shrank although its budget was not spent.
      const rowsAfterAbort = batchSizes[5];
      expect(batchSizes[0]).toBe(3);
      expect(rowsAfterAbort).toBe(2);
    } finally {
      spy.mockRestore();
    }
  }, 60_000);

  it('a call already cancelled is never run', async () => {
    const calls = inputs();
    calls[1] = { ...calls[1]!, signal: AbortSignal.abort(new Error('gone')) };
    const batchSizes: number[] = [];
    const forward = plain.decoder.forward.bind(plain.decoder);
    const spy = vi.spyOn(plain.decoder, 'forward').mockImplementation(async (batch, cache) => {
      batchSizes.push(batch.batchSize);
      return forward(batch, cache);
    });
    try {
      const outcomes = await plain.callBatch('decompose', calls);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(batchSizes[0]).toBe(2);
    } finally {
      spy.mockRestore();
    }
  }, 60_000);
});
