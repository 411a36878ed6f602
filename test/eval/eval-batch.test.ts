/**
 * `dnc eval --batch`: remote bricks answer through the Batch API. Against the fake server the
 * batched eval gives the same answers and scores as the direct one, at half the price, with
 * every chat request a batch line and the calls of each round gathered into few batches.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchBrickLoaders } from '../../src/eval/batch-bricks.js';
import { BatchJournal } from '../../src/teacher/batch-journal.js';
import { BatchRequestQueue } from '../../src/teacher/batch-request-queue.js';
import { createOpenAIClient } from '../../src/teacher/openai-teacher.js';
import { runEval } from '../../src/eval/runner.js';
import { parseSuite } from '../../src/eval/suite.js';
import { startFakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { expertChatAnswer } from '../runtime/expert-chat-answer.js';

const root = await mkdtemp(join(tmpdir(), 'dnc-eval-batch-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const suite = parseSuite(
  {
    name: 'batch-test',
    datasets: [{ name: 'math', world: 'math', split: 'test', n: 6, seed: 5 }],
    chains: [
      {
        name: 'remote/remote',
        decomposer: 'openai:gpt-4o-mini',
        solver: 'openai:gpt-4o-mini',
        mode: 'static',
      },
      { name: 'single', solver: 'openai:gpt-4o-mini', mode: 'single' },
    ],
  },
  'batch test suite',
);

describe('dnc eval --batch', () => {
  it('answers through the Batch API: the same scores as direct calls at half the price', async () => {
    const server = await startFakeOpenAIServer({ answer: expertChatAnswer() });
    try {
      const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test' };
      const direct = await runEval({ suite, out: join(root, 'direct'), env });
      const directRequests = server.chatRequests.length;
      expect(server.chatRequests.every((request) => !request.viaBatch)).toBe(true);
      const batched = await runEval({
        suite,
        out: join(root, 'batched'),
        env,
        concurrency: 100,
        loaders: batchBrickLoaders({ pollIntervalMs: 1, gatherMs: 50 }),
      });
      const lines = server.chatRequests.slice(directRequests);
      expect(lines.length).toBe(directRequests);
      expect(lines.every((request) => request.viaBatch)).toBe(true);
      const batches = server.httpRequests.filter((route) => route === 'POST /v1/batches').length;
      expect(batches).toBeGreaterThan(0);
      expect(batches).toBeLessThan(lines.length / 3); // each round's calls gathered together
      for (const [index, result] of batched.report.results.entries()) {
        const before = direct.report.results[index]!;
        expect(result.score).toBe(before.score);
        expect(result.costUsd.total).toBeCloseTo(before.costUsd.total / 2, 12);
      }
      expect(direct.report.results[0]!.score).toBe(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('a rerun waits for the batches a killed run submitted instead of asking again', async () => {
    const server = await startFakeOpenAIServer({ batchPollsUntilComplete: 2 });
    try {
      const client = createOpenAIClient({
        baseURL: server.url,
        apiKey: 'test',
        maxRetries: 0,
        timeoutMs: 10_000,
      });
      const file = join(root, 'resume-batches.jsonl');
      const body = (question: string) => ({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user' as const, content: `Question: ${question}` }],
        temperature: 0,
        max_tokens: 16,
      });
      const settings = { gatherMs: 10, maxRequests: 100, createdBy: 'test' };
      // The first run submits a batch of three and is "killed" while polling it (its sleep never returns).
      let polling: () => void = () => undefined;
      const polled = new Promise<void>((resolve) => (polling = resolve));
      const first = new BatchRequestQueue(client, {
        ...settings,
        pollIntervalMs: 1,
        journal: await BatchJournal.open(file),
        sleep: () => {
          polling();
          return new Promise<void>(() => undefined);
        },
      });
      for (const question of ['a', 'b', 'a']) void first.request(body(question));
      await polled;
      expect(server.httpRequests.filter((route) => route === 'POST /v1/batches')).toHaveLength(1);

      const second = new BatchRequestQueue(client, {
        ...settings,
        pollIntervalMs: 1,
        journal: await BatchJournal.open(file),
      });
      const answers = await Promise.all(
        ['a', 'b', 'a', 'c'].map((question) => second.request(body(question))),
      );
      expect(answers.map((answer) => answer.line?.response?.status_code)).toEqual([200, 200, 200, 200]);
      const batchIds = answers.map((answer) => answer.batch.id);
      expect(new Set(batchIds.slice(0, 3)).size).toBe(1); // the killed run's batch
      expect(batchIds[3]).not.toBe(batchIds[0]); // a new question goes into a new batch
      expect(server.httpRequests.filter((route) => route === 'POST /v1/batches')).toHaveLength(2);
      expect(second.batches).toBe(1);
    } finally {
      await server.close();
    }
  });
});
