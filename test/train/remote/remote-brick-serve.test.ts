/** A remotely fine-tuned brick directory in a `dnc serve` chain: loaded on the main thread, asked by its ft: model. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeRemoteBrickManifest } from '../../../src/train/remote/remote-brick-manifest.js';
import { generateExamples } from '../../../src/worlds/index.js';
import { startFakeFineTuningServer } from '../../helpers/fake-fine-tuning-server.js';
import { expertChatAnswer } from '../../runtime/expert-chat-answer.js';
import { startTestServer } from '../../serve/serve-harness.js';

describe('dnc serve with a remote brick directory', () => {
  it('answers through the fine-tuned model', async () => {
    const fake = await startFakeFineTuningServer({ chat: { answer: expertChatAnswer() } });
    const brick = await mkdtemp(join(tmpdir(), 'dnc-remote-brick-'));
    const model = 'ft:gpt-4o-mini-2024-07-18:acme:dnc:ftjob-1';
    await writeRemoteBrickManifest(brick, {
      specificationVersion: 'v1',
      role: 'decomposer',
      kind: 'openai',
      model: `openai:${model}`,
      lineage: {
        backend: 'openai',
        base: 'gpt-4o-mini-2024-07-18',
        service: fake.url,
        dataHash: 'sha256-of-the-data',
        validationHash: null,
        teacher: 'openai:gpt-4o',
        jobId: 'ftjob-1',
        trainingFileId: 'file-1',
        validationFileId: null,
        epochs: 3,
        trainedTokens: 1000,
        costUsd: 0.003,
      },
      metrics: { trainLoss: 0.2, validationLoss: null },
    });
    const env = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'test' };
    const server = await startTestServer(
      { chains: [{ name: 'ft/remote', decomposer: brick, solver: 'openai:gpt-4o-mini', mode: 'static' }] },
      { loadOptions: { env } },
    );
    try {
      const [example] = generateExamples({ world: 'math', n: 1, seed: 7, split: 'test' });
      const response = await fetch(`${server.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'ft/remote',
          messages: [{ role: 'user', content: example!.question }],
        }),
      });
      const body = (await response.json()) as { choices: { message: { content: string } }[] };
      expect(response.status).toBe(200);
      expect(body.choices[0]!.message.content).toBe(example!.answer);
      expect(
        fake.fake.chatRequests
          .filter((request) => request.kind === 'decompose')
          .map((request) => request.model),
      ).toEqual([model]);
      expect(server.logs()).toContain(`"placements":{"${brick}":"main"`);
    } finally {
      await server.close();
      await fake.close();
    }
  });
});
