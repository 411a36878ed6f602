/**
 * The training floor in a pipeline: `pipelines/gsm8k-openai.json` on the GSM8K fixture against a
 * fake OpenAI-compatible teacher. A teacher that answers every question wrongly leaves the
 * `correct` filter nothing, and the pipeline fails at the filter stage with the counts instead of
 * training a student on nothing; the filter and collect stages count what they dropped and why.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../src/data/convert/index.js';
import type { Example } from '../../src/data/schemas.js';
import { runPipeline } from '../../src/pipeline/run-pipeline.js';
import {
  answerFromGold,
  type FakeChatRequest,
  startFakeOpenAIServer,
} from '../helpers/fake-openai-server.js';
import { writePipeline } from './pipeline-fixture.js';

const fixture = 'datasets/gsm8k/fixture-test.jsonl';
const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

/** The gold teacher, except that it solves the questions in `wrong` with a wrong final answer. */
function answerWrongly(examples: readonly Example[], wrong: ReadonlySet<string>) {
  const gold = answerFromGold(examples);
  return (request: FakeChatRequest): string => {
    const content = gold(request);
    if (request.kind !== 'solve' || !wrong.has(request.question)) return content;
    if (request.structured) return JSON.stringify({ ...JSON.parse(content), answer: '987654' });
    return content.replace(/The answer is: .*$/m, 'The answer is: 987654');
  };
}

/** The shipped pipeline on the fixture, without an eval, with a nano student. */
async function pipeline(name: string, student: Record<string, unknown>) {
  const shipped = JSON.parse(await readFile('pipelines/gsm8k-openai.json', 'utf8')) as Record<
    string,
    unknown
  >;
  const written = await writePipeline({
    ...shipped,
    name,
    datasets: [{ name: 'gsm8k-train', file: join(process.cwd(), fixture), format: 'gsm8k' }],
    students: [
      {
        name: 'decomposer',
        role: 'decomposer',
        preset: 'nano',
        maxSteps: 2,
        batchSize: 2,
        sequenceLength: 256,
        longExamples: 'truncate',
        ...student,
      },
    ],
    eval: undefined,
  });
  directories.push(written.directory);
  return { ...written, runs: join(written.directory, 'runs') };
}

describe('the training floor in a pipeline', () => {
  it('refuses a patience of 0 or a negative minDelta before any work', async () => {
    for (const [student, key] of [
      [{ patience: 0 }, 'patience'],
      [{ minDelta: -1 }, 'minDelta'],
      [{ allowSmallData: 'yes' }, 'allowSmallData'],
    ] as const) {
      const { file, runs } = await pipeline(`bad-${key}`, student);
      await expect(runPipeline({ file, runsDirectory: runs, env: {} })).rejects.toThrow(
        new RegExp(`students\\.0\\.${key}|students\\[0\\]\\.${key}`),
      );
    }
  });

  it('fails at the filter stage, naming the counts, when a wrong teacher leaves nothing to train on', async () => {
    const examples = await convertFile('gsm8k', fixture);
    const everyQuestion = new Set(examples.map((example) => example.question));
    const server = await startFakeOpenAIServer({ answer: answerWrongly(examples, everyQuestion) });
    try {
      const { file, runs } = await pipeline('wrong-teacher', {});
      const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test-key' };
      const logs: string[] = [];
      const run = runPipeline({
        file,
        runsDirectory: runs,
        env,
        onEvent: (event) => {
          if (event.type === 'unit-log') logs.push(event.message);
        },
      });
      await expect(run).rejects.toThrow(
        /the filter \(correct\) kept 0 of 5; dropped 5: wrong-answer 5 \(filter correct: the chain's answer was wrong\) for the decomposer training set; student "decomposer" would train on 0 usable examples .*training needs at least 50.*"allowSmallData": true/,
      );
      expect(logs).toContain(
        "filter (correct): decomposer kept 0 of 5; dropped 5: wrong-answer 5 (filter correct: the chain's answer was wrong)",
      );
      expect(logs).toContain('datasets[0] "gsm8k-train" (gsm8k): read 5 records, converted 5');
      expect(
        logs.some((line) => line.startsWith('collect: 5 of 5 examples have a valid decomposition')),
      ).toBe(true);
      const manifest = JSON.parse(await readFile(join(runs, 'wrong-teacher', 'run.json'), 'utf8'));
      expect(manifest.stages.filter.status).toBe('failed');
      expect(JSON.stringify(manifest.stages.filter)).toContain('kept 0 of 5');
      expect(manifest.stages.train.status).not.toBe('done');
      await expect(stat(join(runs, 'wrong-teacher', 'train', 'decomposer'))).rejects.toThrow(/ENOENT/);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('counts the drops in the stage summaries and trains below the floor only with allowSmallData', async () => {
    const examples = await convertFile('gsm8k', fixture);
    const server = await startFakeOpenAIServer({
      answer: answerWrongly(examples, new Set([examples[2]!.question])),
    });
    try {
      const { file, runs } = await pipeline('one-wrong', {
        allowSmallData: true,
        patience: 2,
        minDelta: 0.01,
      });
      const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test-key' };
      const result = await runPipeline({ file, runsDirectory: runs, env });
      expect(result.stages.collect.units.collect!.summary).toMatchObject({
        invalid: 0,
        error: 0,
        kept: { decomposer: 4, solver: 4 },
        dropped: { decomposer: { 'wrong-answer': 1 }, solver: { 'wrong-answer': 1 } },
      });
      expect(result.stages.filter.units.filter!.summary).toMatchObject({
        kept: { decomposer: 4, solver: 4 },
        dropped: { decomposer: { 'wrong-answer': 1 }, solver: { 'wrong-answer': 1 } },
      });
      expect(result.stages.train.units.decomposer!.summary).toMatchObject({ trainExamples: 4 });
      // The student's early-stopping settings reach the trainer and its lineage.
      const student = JSON.parse(
        await readFile(join(runs, 'one-wrong', 'train', 'decomposer', 'student.json'), 'utf8'),
      );
      expect(student.lineage.training).toMatchObject({ patience: 2, minDelta: 0.01, allowSmallData: true });
    } finally {
      await server.close();
    }
  }, 60_000);
});
