import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCollection } from '../../src/collect/run-collection.js';
import type { Example } from '../../src/data/schemas.js';
import { renderDecomposePrompt, renderDecomposition } from '../../src/prompts/index.js';
import { TeacherUnsupportedError } from '../../src/teacher/errors.js';
import { createTeacher } from '../../src/collect/create-teacher.js';
import { estimateTokens } from '../../src/teacher/pricing.js';
import { generateExamples } from '../../src/worlds/index.js';

const math = generateExamples({ world: 'math', n: 4, seed: 5, split: 'train' });
const hops = generateExamples({ world: 'hops', n: 4, seed: 5, split: 'train' });
const outside: Example = {
  id: 'real-1',
  dataset: 'strategyqa',
  question: 'Could a llama fit in a phone booth?',
  answer: 'yes',
  answerType: 'boolean',
  gold: { subquestions: ['How big is a llama?', 'How big is a phone booth?'] },
};

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dnc-teachers-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('reference teacher', () => {
  it('decomposes and solves synthetic questions, with simulated usage priced at the reference row', async () => {
    const teacher = await createTeacher('reference');
    for (const example of [...math, ...hops]) {
      const decomposition = await teacher.decompose(example, { maxSubquestions: 6 });
      expect(decomposition.status).toBe('ok');
      expect(decomposition.simulated).toBe(true);
      const promptChars = renderDecomposePrompt({ question: example.question, maxSubquestions: 6 })
        .map((message) => message.content)
        .join('');
      expect(decomposition.usage.inputTokens).toBeGreaterThanOrEqual(estimateTokens(promptChars));
      expect(decomposition.usage.outputTokens).toBe(
        estimateTokens(renderDecomposition(decomposition.subquestions)),
      );
      expect(decomposition.costUsd).toBeCloseTo(
        (decomposition.usage.inputTokens * 2.5 + decomposition.usage.outputTokens * 10) / 1e6,
        12,
      );
      const solution = await teacher.solve(example, decomposition.subquestions, {});
      expect(solution.answer).toBe(example.answer);
    }
  });

  it('marks a question from outside its worlds invalid, and one that needs too many steps', async () => {
    const teacher = await createTeacher('reference');
    expect((await teacher.decompose(outside, { maxSubquestions: 6 })).error).toContain(
      'not from the synthetic worlds',
    );
    const long = math.find((example) => (example.gold?.subquestions.length ?? 0) > 1)!;
    expect((await teacher.decompose(long, { maxSubquestions: 1 })).error).toContain(
      'more than --max-subquestions 1',
    );
  });
});

describe('gold teacher', () => {
  it('returns the gold decomposition and solves from gold sub-answers at no cost', async () => {
    const teacher = await createTeacher('gold');
    const example = math[0]!;
    const decomposition = await teacher.decompose(example, { maxSubquestions: 6 });
    expect(decomposition).toMatchObject({
      status: 'ok',
      subquestions: example.gold!.subquestions,
      costUsd: 0,
    });
    const solution = await teacher.solve(example, decomposition.subquestions, {});
    expect(solution).toMatchObject({
      subanswers: example.gold!.subanswers,
      answer: example.answer,
      costUsd: 0,
    });
  });

  it('refuses clearly to solve a real-dataset example without gold sub-answers', async () => {
    const teacher = await createTeacher('gold');
    const error = await teacher
      .solve(outside, outside.gold!.subquestions, {})
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TeacherUnsupportedError);
    expect((error as Error).message).toContain('has no sub-answers');
  });

  it('cannot decompose an example without a gold decomposition', async () => {
    const teacher = await createTeacher('gold');
    const { gold: _gold, ...bare } = outside;
    await expect(teacher.decompose(bare, { maxSubquestions: 6 })).rejects.toBeInstanceOf(
      TeacherUnsupportedError,
    );
  });
});

describe('replay teacher', () => {
  it('replays an earlier collection for $0, counting its price as saved', async () => {
    const examples = [...math, ...hops];
    const settings = { maxSubquestions: 6, maxAttempts: 3, filter: 'all' as const, secondSample: false };
    const first = await runCollection({
      examples,
      teacher: await createTeacher('reference'),
      outDir: join(directory, 'ref'),
      concurrency: 2,
      settings,
    });
    const replay = await createTeacher(`replay:${join(directory, 'ref')}`);
    const again = await runCollection({
      examples,
      teacher: replay,
      outDir: join(directory, 'replay'),
      concurrency: 2,
      settings,
    });
    expect(again).toMatchObject({ ok: 8, costUsd: 0 });
    expect(again.savedUsd).toBeCloseTo(first.costUsd, 12);
    expect(again.kept).toEqual(first.kept);
  });

  it('says which example it has no record for', async () => {
    const replay = await createTeacher(`replay:${join(directory, 'ref', 'decompositions.jsonl')}`);
    await expect(replay.decompose(outside, { maxSubquestions: 6 })).rejects.toThrow(
      "no ok decomposition for example 'real-1'",
    );
  });
});

describe('createTeacher', () => {
  it('rejects unknown specs with the list of valid ones', async () => {
    await expect(createTeacher('claude')).rejects.toThrow('reference, gold, replay:FILE or openai:MODEL');
    await expect(createTeacher('openai:')).rejects.toThrow('needs a model name');
  });
});
