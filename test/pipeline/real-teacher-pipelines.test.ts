import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../src/data/convert/index.js';
import { runPipeline } from '../../src/pipeline/run-pipeline.js';
import { stageNames } from '../../src/pipeline/run-manifest.js';
import { answerFromGold, startFakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { writePipeline } from './pipeline-fixture.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

type Dataset = { file?: string; format?: string; limit?: number };

/** The shipped pipeline with the project's fixture in place of the downloaded files, and a nano student. */
async function smallVersion(name: string, fixture: string): Promise<Record<string, unknown>> {
  const pipeline = JSON.parse(await readFile(join('pipelines', `${name}.json`), 'utf8')) as {
    datasets: Dataset[];
    students: Record<string, unknown>[];
    eval: { datasets: Dataset[] };
  };
  const useFixture = (dataset: Dataset) => {
    dataset.file = fixture;
    delete dataset.limit;
  };
  pipeline.datasets.forEach(useFixture);
  pipeline.eval.datasets.forEach(useFixture);
  pipeline.students = pipeline.students.map((student) => ({
    name: student.name,
    role: student.role,
    preset: 'nano',
    maxSteps: 2,
    batchSize: 2,
    sequenceLength: 256,
    longExamples: 'truncate',
    allowSmallData: true, // the fixture holds a handful of examples
  }));
  return pipeline;
}

describe.each([
  { name: 'gsm8k-openai', format: 'gsm8k', fixture: 'datasets/gsm8k/fixture-test.jsonl' },
  { name: 'hotpotqa-openai', format: 'hotpotqa', fixture: 'datasets/hotpotqa/fixture-dev.json' },
])('pipelines/$name.json against an OpenAI-compatible server', ({ name, format, fixture }) => {
  it('runs end to end on the fixture with a nano student, then skips everything on a rerun', async () => {
    const examples = await convertFile(format, fixture);
    const server = await startFakeOpenAIServer({ answer: answerFromGold(examples) });
    try {
      const { directory, file } = await writePipeline(await smallVersion(name, fixture));
      directories.push(directory);
      const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test-key' };
      const runs = join(directory, 'runs');
      const result = await runPipeline({ file, runsDirectory: runs, env });
      for (const stage of stageNames) expect(result.stages[stage].action, stage).toBe('ran');
      const collect = result.stages.collect.units.collect!.summary;
      expect(collect.total).toBe(examples.length);
      expect(collect.ok).toBe(examples.length);
      expect(collect.teacher).toBe('openai:gpt-4o-mini');
      expect(result.stages.collect.spentUsd).toBeGreaterThan(0);
      const report = result.report!;
      expect(report.results.map((entry) => entry.chain)).toEqual([
        'single: gpt-4o-mini',
        'gpt-4o-mini/gpt-4o-mini',
        'student/gpt-4o-mini',
      ]);
      // The fake teacher answers from gold, so the teacher's own chain is always right.
      expect(report.results[1]?.score).toBe(1);
      expect(report.results[1]?.n).toBe(examples.length);
      expect(server.chatRequests.some((request) => request.kind === 'decompose')).toBe(true);

      const requests = server.chatRequests.length;
      const again = await runPipeline({ file, runsDirectory: runs, env });
      for (const stage of stageNames) expect(again.stages[stage].action, stage).toBe('skipped');
      expect(server.chatRequests.length).toBe(requests);
    } finally {
      await server.close();
    }
  }, 60_000);
});
