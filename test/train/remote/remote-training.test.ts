import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteTrainingFailedError } from '../../../src/train/remote/remote-training-failed-error.js';
import { UserError } from '../../../src/errors/user-error.js';
import { loadBrick } from '../../../src/runtime/bricks/registry.js';
import { lookupPrice } from '../../../src/teacher/pricing.js';
import { cancelRemoteTraining } from '../../../src/train/remote/cancel-remote-training.js';
import { remoteBrickManifestSchema } from '../../../src/train/remote/remote-brick-manifest.js';
import {
  runRemoteTraining,
  type RemoteTrainingOptions,
} from '../../../src/train/remote/run-remote-training.js';
import {
  startFakeFineTuningServer,
  type FakeFineTuningServer,
  type FakeFineTuningServerOptions,
} from '../../helpers/fake-fine-tuning-server.js';
import { expertChatAnswer } from '../../runtime/expert-chat-answer.js';
import { testClient, trainingFiles } from './fine-tuning-fixture.js';

let server: FakeFineTuningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setUp(options: FakeFineTuningServerOptions = {}) {
  server = await startFakeFineTuningServer({ chat: { answer: expertChatAnswer() }, ...options });
  const files = await trainingFiles();
  const logs: string[] = [];
  const base: RemoteTrainingOptions = {
    client: testClient(server.url),
    base: 'gpt-4o-mini-2024-07-18',
    role: 'decomposer',
    dataFile: files.training,
    validationFile: files.validation,
    outDirectory: join(files.directory, 'ft'),
    maxUsd: 1,
    yes: false,
    pollIntervalMs: 1,
    sleep: async () => undefined,
    log: (message) => logs.push(message),
  };
  return { server, files, logs, base };
}

const fineTuneUploads = (fake: FakeFineTuningServer) =>
  fake.uploads.filter((file) => file.purpose === 'fine-tune');

describe('remote fine-tuning against the fake service', () => {
  it('uploads, trains, follows and writes a brick that answers, through 429 and 500 on every endpoint', async () => {
    const { server, base, logs } = await setUp({
      fault: (_route, occurrence) =>
        occurrence === 1
          ? { kind: 'rate-limit', retryAfterMs: 1 }
          : occurrence === 2
            ? { kind: 'server-error' }
            : undefined,
    });
    const summary = await runRemoteTraining(base);
    expect(fineTuneUploads(server)).toHaveLength(2);
    expect(server.jobs.size).toBe(1);
    const faulted = new Set(server.routes.filter((route, index) => server!.routes.indexOf(route) === index));
    for (const route of [
      'POST /v1/files',
      'GET /v1/files',
      'POST /v1/fine_tuning/jobs',
      'GET /v1/fine_tuning/jobs/:id',
    ])
      expect(faulted.has(route), route).toBe(true);
    const job = [...server.jobs.values()][0]!;
    expect(summary).toMatchObject({ status: 'succeeded', jobId: job.id, createdJob: true });
    expect(summary.model).toBe(`openai:${job.fine_tuned_model}`);
    expect(summary.costUsd).toBeCloseTo((job.trained_tokens! * 3) / 1e6, 10);
    expect(summary.trainLoss).toBeCloseTo(1, 6);
    const manifest = remoteBrickManifestSchema.parse(
      JSON.parse(await readFile(join(base.outDirectory, 'brick.json'), 'utf8')),
    );
    expect(manifest.lineage).toMatchObject({
      base: base.base,
      jobId: job.id,
      trainedTokens: job.trained_tokens,
    });
    const log = (await readFile(join(base.outDirectory, 'train-log.jsonl'), 'utf8')).trim().split('\n');
    expect(log.map((line) => JSON.parse(line) as { loss?: number }).some((entry) => entry.loss === 1)).toBe(
      true,
    );
    expect(logs.some((line) => /step 1\/3, train loss 1\.0000/.test(line))).toBe(true);

    const brick = await loadBrick(base.outDirectory, {
      env: { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test' },
    });
    const decomposed = await brick.decompose?.({
      question: 'Ann has 3 apples and buys 4 more. How many now?',
      maxSubquestions: 6,
    });
    expect(server.fake.chatRequests.at(-1)?.model).toBe(job.fine_tuned_model);
    expect(decomposed?.costUsd).toBeGreaterThan(0); // priced as a fine-tuned gpt-4o-mini
  });

  it('a rerun into a finished run directory re-attaches: no upload, no job', async () => {
    const { server, base } = await setUp();
    await runRemoteTraining(base);
    const again = await runRemoteTraining(base);
    expect(again.createdJob).toBe(false);
    expect(fineTuneUploads(server)).toHaveLength(2);
    expect(server.jobs.size).toBe(1);
    await expect(runRemoteTraining({ ...base, epochs: 5 })).rejects.toThrow(/other data or settings/);
  });

  it('never uploads or creates twice when the service did the work but answered 500', async () => {
    const { server, base } = await setUp({
      faultAfter: (route, occurrence) =>
        occurrence === 1 && (route === 'POST /v1/files' || route === 'POST /v1/fine_tuning/jobs')
          ? { kind: 'server-error' }
          : undefined,
    });
    await runRemoteTraining(base);
    expect(fineTuneUploads(server)).toHaveLength(2);
    expect(server.jobs.size).toBe(1);
  });

  it('lists every problem of the training file on its own line, before uploading anything', async () => {
    const { server, base, logs, files } = await setUp();
    const lines = (await readFile(files.training, 'utf8')).trim().split('\n').slice(0, 4);
    lines.push(
      '{"messages": [{"role": "bot", "content": "hi"}, {"role": "assistant", "content": "  "}]}',
      'not json',
    );
    const { writeFile } = await import('node:fs/promises');
    await writeFile(files.training, `${lines.join('\n')}\n`);
    await expect(runRemoteTraining(base)).rejects.toThrow(UserError);
    expect(logs).toEqual(
      expect.arrayContaining([
        `${files.training} line 5: message 1 has role 'bot'; use system, user or assistant`,
        expect.stringMatching(/line 5: message 2 is an empty assistant turn/),
        `${files.training} line 6: is not valid JSON`,
        `${files.training}: 6 examples; the service needs at least 10`,
      ]),
    );
    expect(server.uploads).toHaveLength(0);
  });

  it('asks for --yes when the estimate is over the budget', async () => {
    const { server, base } = await setUp();
    await expect(runRemoteTraining({ ...base, maxUsd: 0 })).rejects.toThrow(
      /over the budget \$0\.00; rerun with --yes/,
    );
    expect(server.uploads).toHaveLength(0);
    await runRemoteTraining({ ...base, maxUsd: 0, yes: true });
    expect(server.jobs.size).toBe(1);
  });

  it('ends a failed job with the service message and a cancelled one as cancelled', async () => {
    const failing = await setUp({
      outcome: () => ({ kind: 'fail', message: 'Training file has 3 invalid lines' }),
    });
    await expect(runRemoteTraining(failing.base)).rejects.toThrow(
      /failed: Training file has 3 invalid lines/,
    );
    const journal = await readFile(join(failing.base.outDirectory, 'remote-journal.jsonl'), 'utf8');
    expect(journal).toContain('"status":"failed"');
    await failing.server.close();
    const cancelled = await setUp({ outcome: () => ({ kind: 'cancelled-by-service' }) });
    await expect(runRemoteTraining(cancelled.base)).rejects.toThrow(/ftjob-\d+ cancelled/);
    // The CLI exits 2 for this class (src/cli/main.ts); the error itself carries no exit code.
    await expect(runRemoteTraining(cancelled.base)).rejects.toBeInstanceOf(RemoteTrainingFailedError);
  });

  it('dnc train --cancel cancels the running job (through a 500 and a 429); the follower ends with cancelled', async () => {
    const { server, base } = await setUp({
      retrievesUntilDone: 50,
      fault: (route, occurrence) =>
        route.endsWith('/cancel') && occurrence < 3
          ? ({ kind: occurrence === 1 ? 'server-error' : 'rate-limit', retryAfterMs: 1 } as const)
          : undefined,
    });
    let cancelled: Awaited<ReturnType<typeof cancelRemoteTraining>> | undefined;
    const run = runRemoteTraining({
      ...base,
      sleep: async () => {
        cancelled ??= await cancelRemoteTraining({
          client: base.client,
          outDirectory: base.outDirectory,
          log: () => undefined,
        });
      },
    });
    await expect(run).rejects.toThrow(/cancelled/);
    expect(cancelled?.status).toBe('cancelled');
    expect([...server.jobs.values()][0]?.status).toBe('cancelled');
    const again = await cancelRemoteTraining({
      client: base.client,
      outDirectory: base.outDirectory,
      log: () => undefined,
    });
    expect(again.message).toMatch(/already cancelled/);
  });

  it('prices fine-tuned models at their base model fine-tuned inference price', () => {
    expect(lookupPrice('ft:gpt-4o-mini-2024-07-18:acme::abc123')).toMatchObject({
      price: { inputPerMillion: 0.3, outputPerMillion: 1.2 },
      entry: 'ft:gpt-4o-mini',
    });
    expect(lookupPrice('ft:unknown-model:acme::abc').entry).toBeUndefined();
  });
});
