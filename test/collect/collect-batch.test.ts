import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCollection } from '../../src/collect/run-collection.js';
import type { CollectOptions } from '../../src/collect/run-collection.js';
import type { Example } from '../../src/data/schemas.js';
import { OpenAITeacher } from '../../src/teacher/openai-teacher.js';
import { generateExamples } from '../../src/worlds/index.js';
import { runCli } from '../helpers/cli.js';
import { answerFromGold, startFakeOpenAIServer } from '../helpers/fake-openai-server.js';
import type { FakeBehaviour, FakeChatRequest, FakeOpenAIServer } from '../helpers/fake-openai-server.js';

const examples: Example[] = [
  ...generateExamples({ world: 'math', n: 5, seed: 21, split: 'train' }),
  ...generateExamples({ world: 'hops', n: 5, seed: 21, split: 'train' }),
];

let directory: string;
const servers: FakeOpenAIServer[] = [];
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dnc-batch-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(directory, { recursive: true, force: true });
});

// Example 1 answers schema-invalid JSON twice, example 3 once: both modes must re-ask them the same way.
const script = (request: FakeChatRequest): FakeBehaviour | undefined => {
  const index = examples.findIndex((example) => example.question === request.question);
  const invalidTimes = index === 1 ? 2 : index === 3 ? 1 : 0;
  return request.kind === 'decompose' && request.attempt < invalidTimes
    ? { kind: 'content', content: '{"steps": []}' }
    : undefined;
};

async function start(): Promise<FakeOpenAIServer> {
  const server = await startFakeOpenAIServer({
    answer: answerFromGold(examples),
    script,
    batchPollsUntilComplete: 3,
  });
  servers.push(server);
  return server;
}

function options(server: FakeOpenAIServer, outDir: string): CollectOptions {
  return {
    examples,
    teacher: new OpenAITeacher({
      model: 'gpt-4o-mini',
      baseURL: server.url,
      apiKey: 'test',
      retry: { maxRetries: 0 },
    }),
    outDir,
    concurrency: 4,
    settings: { maxSubquestions: 6, maxAttempts: 3, filter: 'correct', secondSample: false },
  };
}

async function comparable(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const {
        latencyMs: _latency,
        createdAt: _created,
        costUsd: _cost,
        batchId: _batch,
        warnings: _warnings,
        ...rest
      } = JSON.parse(line) as Record<string, unknown>;
      return rest;
    })
    .sort((left, right) => `${left.key}:${left.attempt}`.localeCompare(`${right.key}:${right.attempt}`));
}

describe('batch mode', () => {
  it('gives the same records and training files as synchronous mode, at half the price', async () => {
    const syncServer = await start();
    const syncOut = join(directory, 'sync');
    const synchronous = await runCollection(options(syncServer, syncOut));

    const batchServer = await start();
    const batchOut = join(directory, 'batch');
    const statuses: string[] = [];
    const batched = await runCollection({
      ...options(batchServer, batchOut),
      batch: {
        outDir: batchOut,
        pollIntervalMs: 1,
        priceFactor: 0.5,
        onStatus: (batch) => statuses.push(batch.status),
      },
    });

    expect(batchServer.chatRequests.every((request) => request.viaBatch)).toBe(true);
    expect(batchServer.chatRequests).toHaveLength(syncServer.chatRequests.length);
    // round 1: 10 decompositions; round 2: 8 solutions + 2 re-asked; round 3: 2 solutions + 1 re-asked; round 4: 1 solution.
    expect(batched.batches).toBe(4);
    expect(statuses.filter((status) => status === 'completed')).toHaveLength(4);
    expect(statuses).toContain('in_progress');
    for (const file of ['decompositions.jsonl', 'solutions.jsonl']) {
      expect(await comparable(join(batchOut, file))).toEqual(await comparable(join(syncOut, file)));
    }
    for (const file of ['train-decomposer.jsonl', 'train-solver.jsonl']) {
      expect(await readFile(join(batchOut, file), 'utf8')).toBe(await readFile(join(syncOut, file), 'utf8'));
    }
    const { costUsd: syncCost, batches: _none, files: _syncFiles, ...syncRest } = synchronous;
    const { costUsd: batchCost, batches: _count, files: _batchFiles, ...batchRest } = batched;
    expect(batchRest).toEqual(syncRest);
    expect(batchCost).toBeCloseTo(syncCost / 2, 12);
  });

  it('resumes a submitted batch after a crash instead of submitting it again', async () => {
    const server = await start();
    const out = join(directory, 'resume');
    const first = options(server, out);
    // A run that dies right after submitting: its onStatus throws on the first poll.
    await expect(
      runCollection({
        ...first,
        batch: {
          outDir: out,
          pollIntervalMs: 1,
          priceFactor: 0.5,
          onStatus: () => {
            throw new Error('killed while polling');
          },
        },
      }),
    ).rejects.toThrow('killed while polling');
    expect(server.batches.size).toBe(1);
    const summary = await runCollection({
      ...options(server, out),
      batch: { outDir: out, pollIntervalMs: 1, priceFactor: 0.5 },
    });
    expect(summary.ok).toBe(examples.length);
    const inputs = [...server.files.values()].filter((file) => file.purpose === 'batch');
    const firstRound = inputs[0]!.content.trim().split('\n');
    expect(firstRound).toHaveLength(examples.length);
    // no later batch re-asks a decomposition of the first round's ok answers
    const reasked = inputs
      .slice(1)
      .flatMap((file) => file.content.trim().split('\n'))
      .map((line) => (JSON.parse(line) as { custom_id: string }).custom_id);
    const firstIds = firstRound.map((line) => (JSON.parse(line) as { custom_id: string }).custom_id);
    const okFirst = firstIds.filter((_, index) => index !== 1 && index !== 3);
    expect(reasked.filter((id) => okFirst.includes(id))).toEqual([]);
  });

  it('falls back to plain text when the endpoint rejects structured output in batch lines', async () => {
    const server = await startFakeOpenAIServer({
      answer: answerFromGold(examples),
      supportsStructuredOutput: false,
    });
    servers.push(server);
    const out = join(directory, 'text');
    const summary = await runCollection({
      ...options(server, out),
      batch: { outDir: out, pollIntervalMs: 1, priceFactor: 0.5 },
    });
    expect(summary).toMatchObject({ ok: examples.length, error: 0, batches: 3 }); // rejected, decompose in text, solve
    const structured = server.chatRequests.map((request) => request.structured);
    expect(structured.slice(0, examples.length).every(Boolean)).toBe(true);
    expect(structured.slice(examples.length).some(Boolean)).toBe(false);
  });

  it('refuses --batch with a teacher that is not openai:MODEL', async () => {
    const data = join(directory, 'data.jsonl');
    await (await import('node:fs/promises')).writeFile(data, `${JSON.stringify(examples[0])}\n`);
    const result = await runCli([
      'collect',
      '--data',
      data,
      '--teacher',
      'reference',
      '--out',
      join(directory, 'x'),
      '--batch',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--batch needs an openai:MODEL teacher');
  });
});
