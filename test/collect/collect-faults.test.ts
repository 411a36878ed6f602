import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCollection } from '../../src/collect/run-collection.js';
import type { CollectOptions } from '../../src/collect/run-collection.js';
import { decompositionRecordSchema, solutionRecordSchema } from '../../src/data/schemas.js';
import type { DecompositionRecord, Example, SolutionRecord } from '../../src/data/schemas.js';
import { OpenAITeacher } from '../../src/teacher/openai-teacher.js';
import { generateExamples } from '../../src/worlds/index.js';
import { answerFromGold, startFakeOpenAIServer } from '../helpers/fake-openai-server.js';
import type { FakeBehaviour, FakeChatRequest, FakeOpenAIServer } from '../helpers/fake-openai-server.js';

const examples: Example[] = generateExamples({ world: 'math', n: 8, seed: 3, split: 'train' });

let directory: string;
let server: FakeOpenAIServer | undefined;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dnc-collect-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(directory, { recursive: true, force: true });
});

async function readRecords<T>(file: string, schema: { parse(value: unknown): T }): Promise<T[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => schema.parse(JSON.parse(line)));
}

/** Decompose requests of example i play `plans[i]` attempt by attempt, then answer normally. */
function scriptByExample(plans: Record<number, FakeBehaviour[] | 'always-500' | 'always-invalid'>) {
  return (request: FakeChatRequest): FakeBehaviour | undefined => {
    if (request.kind !== 'decompose') return undefined;
    const index = examples.findIndex((example) => example.question === request.question);
    const plan = plans[index];
    if (plan === 'always-500') return { kind: 'server-error' };
    if (plan === 'always-invalid') return { kind: 'content', content: '{"subquestions": [1, 2]}' };
    return plan?.[request.attempt];
  };
}

const faults = scriptByExample({
  0: [{ kind: 'rate-limit', retryAfterMs: 50 }], // 2 requests
  1: [{ kind: 'server-error' }, { kind: 'server-error', status: 503 }], // 3 requests
  2: [{ kind: 'slow', delayMs: 6000 }], // 2 requests (timeout, then ok)
  3: [{ kind: 'malformed-json' }], // 2 requests
  4: 'always-invalid', // maxAttempts (3) invalid answers
  5: 'always-500', // 1 + maxRetries (2) requests, then an error record
  6: [{ kind: 'status', status: 400 }], // not retried: 1 request, error record
});

function options(teacher: OpenAITeacher): CollectOptions {
  return {
    examples,
    teacher,
    outDir: directory,
    concurrency: 4,
    settings: { maxSubquestions: 6, maxAttempts: 3, filter: 'all', secondSample: false },
  };
}

function teacherFor(url: string): OpenAITeacher {
  return new OpenAITeacher({
    model: 'gpt-4o-mini',
    baseURL: url,
    apiKey: 'test',
    timeoutMs: 1500,
    retry: { maxRetries: 2, initialDelayMs: 5, maxDelayMs: 20 },
    concurrency: 4,
  });
}

describe('collection against a faulty endpoint', () => {
  it('ends with every example ok or recorded with its reason, within the retry budget', async () => {
    server = await startFakeOpenAIServer({ answer: answerFromGold(examples), script: faults });
    const summary = await runCollection(options(teacherFor(server.url)));

    // decompose: 2 + 3 + 2 + 2 + 3 (invalid ×3) + 3 (error) + 1 (400) + 1; solve: one per ok decomposition (0-3, 7).
    expect(server.chatRequests.filter((request) => request.kind === 'decompose')).toHaveLength(17);
    expect(server.chatRequests.filter((request) => request.kind === 'solve')).toHaveLength(5);
    expect(summary).toMatchObject({ total: 8, ok: 5, invalid: 1, error: 2, skippedCached: 0, requests: 22 });
    expect(summary.costUsd).toBeGreaterThan(0);

    const records = await readRecords<DecompositionRecord>(
      join(directory, 'decompositions.jsonl'),
      decompositionRecordSchema,
    );
    const byExample = (index: number) => records.filter((record) => record.exampleId === examples[index]!.id);
    for (const index of [0, 1, 2, 3, 7]) {
      expect(byExample(index).map((record) => record.status)).toEqual(['ok']);
      expect(byExample(index)[0]!.subquestions).toEqual(examples[index]!.gold!.subquestions);
    }
    expect(byExample(4).map((record) => [record.status, record.attempt])).toEqual([
      ['invalid', 1],
      ['invalid', 2],
      ['invalid', 3],
    ]);
    expect(byExample(4)[0]!.error).toContain('does not match the schema');
    expect(byExample(5).map((record) => record.status)).toEqual(['error']);
    expect(byExample(5)[0]!.error).toContain('failed after 3 attempts');
    expect(byExample(6)[0]!.error).toContain('HTTP 400');

    const solutions = await readRecords<SolutionRecord>(
      join(directory, 'solutions.jsonl'),
      solutionRecordSchema,
    );
    expect(solutions.every((record) => record.status === 'ok' && record.correct === true)).toBe(true);
    const training = (await readFile(join(directory, 'train-decomposer.jsonl'), 'utf8')).trim().split('\n');
    expect(training).toHaveLength(5);
  });

  it('on a rerun asks only for keys that failed, never for ok or exhausted-invalid keys', async () => {
    server = await startFakeOpenAIServer({ answer: answerFromGold(examples), script: faults });
    await runCollection(options(teacherFor(server.url)));
    const before = server.chatRequests.length;
    const summary = await runCollection(options(teacherFor(server.url)));
    const again = server.chatRequests.slice(before);
    // example 5 (always 500: 3 requests) and example 6 (its 400 was scripted once: now ok, then solved).
    expect(
      again
        .map(
          (request) =>
            `${request.kind}:${examples.findIndex((example) => example.question === request.question)}`,
        )
        .sort(),
    ).toEqual(['decompose:5', 'decompose:5', 'decompose:5', 'decompose:6', 'solve:6']);
    expect(summary).toMatchObject({ ok: 6, invalid: 1, error: 1, skippedCached: 10, requests: 5 });
    expect(summary.savedUsd).toBeGreaterThan(0);
  });
});

describe('filtering', () => {
  const wrongFirstSolve = (request: FakeChatRequest): FakeBehaviour | undefined =>
    request.kind === 'solve' && request.question === examples[2]!.question && request.attempt === 0
      ? { kind: 'content', content: JSON.stringify({ subanswers: ['1', '2'], answer: '-1' }) }
      : undefined;

  it('keeps every valid decomposition with `all` and only chains that reached the gold with `correct`', async () => {
    server = await startFakeOpenAIServer({ answer: answerFromGold(examples), script: wrongFirstSolve });
    const all = await runCollection(options(teacherFor(server.url)));
    expect(all.kept).toEqual({ decomposer: 8, solver: 8 });
    expect(all.solutions).toMatchObject({ ok: 8, correct: 7 });

    const correct = await runCollection({
      ...options(teacherFor(server.url)),
      settings: { maxSubquestions: 6, maxAttempts: 3, filter: 'correct', secondSample: false },
    });
    expect(correct.kept).toEqual({ decomposer: 7, solver: 7 });
    expect(correct.skippedCached).toBe(16); // same keys: nothing asked again
    const decomposer = await readFile(join(directory, 'train-decomposer.jsonl'), 'utf8');
    expect(decomposer).not.toContain(examples[2]!.question);
  });

  it('asks a second sample, at a higher temperature, for a chain that missed the gold answer', async () => {
    server = await startFakeOpenAIServer({ answer: answerFromGold(examples), script: wrongFirstSolve });
    const summary = await runCollection({
      ...options(teacherFor(server.url)),
      settings: { maxSubquestions: 6, maxAttempts: 3, filter: 'correct', secondSample: true },
    });
    const decomposeRequests = server.chatRequests.filter(
      (request) => request.kind === 'decompose' && request.question === examples[2]!.question,
    );
    expect(decomposeRequests.map((request) => request.body.temperature)).toEqual([0, 0.7]);
    expect(summary.kept).toEqual({ decomposer: 8, solver: 8 });
  });
});
