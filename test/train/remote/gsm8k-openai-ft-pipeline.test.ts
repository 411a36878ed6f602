/**
 * pipelines/gsm8k-openai-ft.json end to end against the fake services: the teacher collects
 * decompositions, the fake fine-tuning service trains the student, and the fine-tuned brick
 * decomposes in the eval next to the teacher; a rerun skips every stage and creates no job.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../../src/pipeline/run-pipeline.js';
import { stageNames } from '../../../src/pipeline/run-manifest.js';
import { generateExamples } from '../../../src/worlds/index.js';
import { startFakeFineTuningServer } from '../../helpers/fake-fine-tuning-server.js';
import { writePipeline } from '../../pipeline/pipeline-fixture.js';
import { expertChatAnswer } from '../../runtime/expert-chat-answer.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

type Dataset = { file?: string; limit?: number };

describe('pipelines/gsm8k-openai-ft.json against fake OpenAI services', () => {
  it('collects, fine-tunes remotely, evaluates the fine-tuned decomposer, then skips everything', async () => {
    const server = await startFakeFineTuningServer({ chat: { answer: expertChatAnswer() } });
    try {
      const pipeline = JSON.parse(await readFile('pipelines/gsm8k-openai-ft.json', 'utf8')) as {
        datasets: Dataset[];
        students: Record<string, unknown>[];
        eval: { datasets: Dataset[] };
      };
      const { directory, file } = await writePipeline(pipeline);
      directories.push(directory);
      // GSM8K-format files of math-world questions (the fake models answer them like a good LLM).
      // 12 questions: under dnc's own training floor (50), over the service's (10).
      const gsm8k = (seed: number) =>
        generateExamples({ world: 'math', n: 12, seed, split: 'train' })
          .map((example) => JSON.stringify({ question: example.question, answer: `#### ${example.answer}` }))
          .join('\n');
      const train = join(directory, 'train.jsonl');
      const test = join(directory, 'test.jsonl');
      await writeFile(train, `${gsm8k(1)}\n`);
      await writeFile(test, `${gsm8k(2).split('\n').slice(0, 4).join('\n')}\n`);
      for (const dataset of pipeline.datasets) Object.assign(dataset, { file: train, limit: undefined });
      for (const dataset of pipeline.eval.datasets) Object.assign(dataset, { file: test, limit: undefined });
      pipeline.students[0]!.pollIntervalMs = 1;
      await writeFile(file, JSON.stringify(pipeline));

      const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test-key' };
      const runs = join(directory, 'runs');
      const result = await runPipeline({ file, runsDirectory: runs, env });
      for (const stage of stageNames) expect(result.stages[stage].action, stage).toBe('ran');
      expect(server.jobs.size).toBe(1);
      const job = [...server.jobs.values()][0]!;
      expect(job).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', status: 'succeeded' });
      expect(server.uploads.filter((upload) => upload.purpose === 'fine-tune')).toHaveLength(1);
      expect(result.stages.train.spentUsd).toBeGreaterThan(0);
      const report = result.report!;
      expect(report.results.map((entry) => [entry.chain, entry.n, entry.score])).toEqual([
        ['gpt-4o/gpt-4o', 4, 1],
        ['ft-gpt-4o-mini/gpt-4o', 4, 1],
      ]);
      const decomposers = server.fake.chatRequests.filter((request) => request.kind === 'decompose');
      expect(decomposers.filter((request) => request.model === job.fine_tuned_model)).toHaveLength(4);

      const again = await runPipeline({ file, runsDirectory: runs, env });
      for (const stage of stageNames) expect(again.stages[stage].action, stage).toBe('skipped');
      expect(server.jobs.size).toBe(1);
    } finally {
      await server.close();
    }
  }, 120_000);
});
