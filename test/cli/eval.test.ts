import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportSchema, type Report } from '../../src/eval/report-schema.js';
import { runEval } from '../../src/eval/runner.js';
import { loadSuite } from '../../src/eval/suite.js';
import { dncBin, repoRoot, runCli } from '../helpers/cli.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { expertChatAnswer } from '../runtime/expert-chat-answer.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-eval-cli-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function readReport(directory: string): Promise<Report> {
  return reportSchema.parse(JSON.parse(await readFile(join(directory, 'report.json'), 'utf8')));
}

async function traceLines(directory: string): Promise<{ exampleId: string; question: string }[]> {
  const file = join(directory, 'traces.jsonl');
  if (!existsSync(file)) return [];
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as { exampleId: string; question: string });
}

/** The report without wall-clock latencies, which differ between any two runs. */
function withoutLatency(report: Report) {
  return report.results.map(({ latencyMs: _latency, ...rest }) => rest);
}

describe('dnc eval', () => {
  it('prints the paper table and where the reports are; --json prints exactly the report.json object', async () => {
    const out = join(root, 'human');
    const suite = join(repoRoot, 'eval', 'worlds-reference.json');
    const human = await runCli(['eval', '--suite', suite, '--out', out, '--limit', '2']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/\| Chain +\| Decomposer \/ solver +\| Mode +\| hops +\| math +\|/);
    expect(human.stdout).toContain('reference/reference static');
    expect(human.stdout).toContain(join(out, 'report.html'));
    expect(human.stdout).toMatch(
      /12 examples \(12 computed, 0 from earlier runs\); spent \$[\d.]+, saved \$0/,
    );

    const json = await runCli(['eval', '--suite', suite, '--out', out, '--limit', '2', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const file = await readFile(join(out, 'report.json'), 'utf8');
    expect(json.stdout).toBe(file);
    const report = await readReport(out);
    expect(JSON.parse(json.stdout)).toEqual(report);
    expect(report.results).toHaveLength(6);
    expect(report.results.every((entry) => entry.n === 2)).toBe(true);
  });

  it('fails with one clear line on a bad suite, before any work', async () => {
    const suite = join(root, 'bad-suite.json');
    await writeFile(suite, JSON.stringify({ name: 'bad', datasets: [], chains: [] }));
    const out = join(root, 'bad');
    const result = await runCli(['eval', '--suite', suite, '--out', out]);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^dnc: suite .*bad-suite\.json: datasets: a suite needs at least one dataset/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('dnc eval killed midway', () => {
  let server: FakeOpenAIServer;
  let suite: string;
  const env = () => ({ OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test' });

  beforeAll(async () => {
    server = await startFakeOpenAIServer({ answer: expertChatAnswer(), latencyMs: 60 });
    suite = join(root, 'remote-suite.json');
    await writeFile(
      suite,
      JSON.stringify({
        name: 'remote',
        datasets: [
          { name: 'hops', world: 'hops', split: 'test', n: 8, seed: 2 },
          { name: 'math', world: 'math', split: 'test', n: 8, seed: 2 },
        ],
        chains: [
          { name: 'ref/openai', decomposer: 'reference', solver: 'openai:gpt-4o-mini', mode: 'static' },
        ],
        concurrency: 2,
      }),
    );
  });
  afterAll(() => server.close());

  it('resumes without recomputing finished examples and reports like an uninterrupted run', async () => {
    const whole = join(root, 'whole');
    await runEval({ suite: await loadSuite(suite), out: whole, env: env() });
    const requestsWhole = server.chatRequests.length;

    const out = join(root, 'killed');
    const startKilled = server.chatRequests.length;
    const child = spawn(process.execPath, [dncBin, 'eval', '--suite', suite, '--out', out, '--json'], {
      cwd: repoRoot,
      env: { ...process.env, ...env() },
      stdio: 'ignore',
    });
    let running = true;
    const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (running = false));
    while (running && (await traceLines(out)).length < 4) await delay(10);
    child.kill('SIGKILL');
    await exited;
    await server.idle(); // the requests the killed process had sent are read, recorded and answered
    const finished = await traceLines(out);
    expect(finished.length).toBeLessThan(16); // it really was killed midway
    const requestsKilled = server.chatRequests.length - startKilled;

    const startResumed = server.chatRequests.length;
    const resumed = await runCli(['eval', '--suite', suite, '--out', out, '--json'], { env: env() });
    expect(resumed.code, resumed.stderr).toBe(0);
    const resumedRequests = server.chatRequests.slice(startResumed);
    const finishedQuestions = new Set(finished.map((trace) => trace.question));
    expect(resumedRequests.filter((request) => finishedQuestions.has(request.question))).toEqual([]);
    // Only requests in flight at the kill (one per running example at most) are made twice.
    expect(requestsKilled + resumedRequests.length).toBeLessThanOrEqual(requestsWhole + 2);
    expect(resumedRequests.length).toBeLessThan(requestsWhole);

    expect(await traceLines(out)).toHaveLength(16);
    const report = await readReport(out);
    expect(JSON.parse(resumed.stdout)).toEqual(report);
    expect(withoutLatency(report)).toEqual(withoutLatency(await readReport(whole)));
  }, 60_000);
});
