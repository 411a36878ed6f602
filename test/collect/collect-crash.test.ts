import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCollection } from '../../src/collect/run-collection.js';
import { defaults } from '../../src/config/defaults.js';
import type { Example } from '../../src/data/schemas.js';
import { OpenAITeacher } from '../../src/teacher/openai-teacher.js';
import { generateExamples } from '../../src/worlds/index.js';
import { dncBin, repoRoot, runCli } from '../helpers/cli.js';
import { answerFromGold, startFakeOpenAIServer } from '../helpers/fake-openai-server.js';
import type { FakeChatRequest, FakeOpenAIServer } from '../helpers/fake-openai-server.js';

const examples: Example[] = generateExamples({ world: 'hops', n: 30, seed: 11, split: 'train' });
let directory: string;
let server: FakeOpenAIServer;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dnc-crash-'));
  await writeFile(
    join(directory, 'data.jsonl'),
    examples.map((example) => JSON.stringify(example)).join('\n') + '\n',
  );
  server = await startFakeOpenAIServer({ answer: answerFromGold(examples), latencyMs: 40 });
});
afterAll(async () => {
  await server.close();
  await rm(directory, { recursive: true, force: true });
});

const args = (out: string) => [
  'collect',
  '--data',
  join(directory, 'data.jsonl'),
  '--teacher',
  'openai:gpt-4o-mini',
  '--out',
  out,
  '--concurrency',
  '2',
  '--json',
];
const env = () => ({ OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test' });

async function lineCount(file: string): Promise<number> {
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  return exists ? (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '').length : 0;
}

/** Ok keys on disk (a torn last line is skipped, as the journal's reader will cut it). */
async function okRecords(file: string): Promise<{ key: string; exampleId: string }[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { key: string; exampleId: string; status: string }];
      } catch {
        return [];
      }
    })
    .filter((record) => record.status === 'ok');
}

function exampleOf(request: FakeChatRequest): string {
  return examples.find((example) => example.question === request.question)!.id;
}

describe('dnc collect killed with SIGKILL', () => {
  it('resumes without asking for a completed key again and writes the same training files', async () => {
    const killedOut = join(directory, 'killed');
    const child = spawn(process.execPath, [dncBin, ...args(killedOut)], {
      cwd: repoRoot,
      env: { ...process.env, ...env() },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 60_000;
    while ((await lineCount(join(killedOut, 'solutions.jsonl'))) < 6 && Date.now() < deadline)
      await delay(10);
    child.kill('SIGKILL');
    await exited;

    const doneDecompositions = new Set(
      (await okRecords(join(killedOut, 'decompositions.jsonl'))).map((record) => record.exampleId),
    );
    const doneSolutions = new Set(
      (await okRecords(join(killedOut, 'solutions.jsonl'))).map((record) => record.exampleId),
    );
    expect(doneSolutions.size).toBeGreaterThanOrEqual(6);
    expect(doneDecompositions.size).toBeLessThan(examples.length); // it really was cut short

    const before = server.chatRequests.length;
    const resumed = await runCli(args(killedOut), { env: env() });
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as { ok: number; skippedCached: number; requests: number };
    const after = server.chatRequests.slice(before);
    for (const request of after) {
      const done = request.kind === 'decompose' ? doneDecompositions : doneSolutions;
      expect(done.has(exampleOf(request)), `${request.kind} of ${exampleOf(request)} asked again`).toBe(
        false,
      );
    }
    expect(summary.ok).toBe(examples.length);
    expect(summary.requests).toBe(after.length);
    expect(summary.skippedCached).toBe(doneDecompositions.size + doneSolutions.size);

    for (const file of ['decompositions.jsonl', 'solutions.jsonl']) {
      const ok = await okRecords(join(killedOut, file));
      expect(ok).toHaveLength(examples.length); // exactly one ok record per example
      expect(new Set(ok.map((record) => record.exampleId)).size).toBe(examples.length);
    }

    // The uninterrupted run, in process with the CLI's settings (concurrency 2, defaults otherwise).
    const cleanOut = join(directory, 'clean');
    await runCollection({
      examples,
      teacher: new OpenAITeacher({
        model: 'gpt-4o-mini',
        baseURL: server.url,
        apiKey: 'test',
        concurrency: 2,
      }),
      outDir: cleanOut,
      concurrency: 2,
      settings: {
        maxSubquestions: defaults.prompts.maxSubquestions,
        maxAttempts: defaults.collect.maxAttempts,
        filter: 'all',
        secondSample: false,
      },
    });
    for (const file of ['train-decomposer.jsonl', 'train-solver.jsonl']) {
      const expected = await readFile(join(cleanOut, file));
      expect(expected.length).toBeGreaterThan(0);
      expect((await readFile(join(killedOut, file))).equals(expected), `${file} differs`).toBe(true);
    }
  });
});
