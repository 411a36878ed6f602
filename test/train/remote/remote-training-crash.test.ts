/**
 * `dnc train --backend openai` killed (SIGKILL) at every stage that talks to the service, each
 * time at a request the fake service holds unanswered, then run again: the reruns end with one
 * upload per file, one job, no event logged twice, and a brick that answers through `dnc ask`.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dncBin, repoRoot, runCli } from '../../helpers/cli.js';
import { startFakeFineTuningServer, type FakeHold } from '../../helpers/fake-fine-tuning-server.js';
import { generateExamples } from '../../../src/worlds/index.js';
import { expertChatAnswer } from '../../runtime/expert-chat-answer.js';
import { trainingFiles } from './fine-tuning-fixture.js';

const server = await startFakeFineTuningServer({
  chat: { answer: expertChatAnswer() },
  retrievesUntilDone: 3,
});
afterAll(() => server.close());
const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test' };

/** Starts the command, waits until the service holds the request `hold` names, and kills it there. */
async function killAt(args: string[], hold: FakeHold): Promise<string> {
  server.setHold(hold);
  const child = spawn(process.execPath, [dncBin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<string>((resolve) =>
    child.on('close', (code) => resolve(`exited ${code}: ${stderr}`)),
  );
  const reached = await Promise.race([server.held.then((route) => `held ${route}`), exited]);
  child.kill('SIGKILL');
  await exited;
  server.setHold(undefined);
  return reached;
}

describe('dnc train --backend openai survives SIGKILL at every stage', () => {
  it('reruns re-attach: one upload per file, one job, a brick that answers', async () => {
    const files = await trainingFiles();
    const out = join(files.directory, 'ft');
    const args = [
      'train',
      '--backend',
      'openai',
      '--base',
      'gpt-4o-mini-2024-07-18',
      '--data',
      files.training,
      '--validation',
      files.validation,
      '--out',
      out,
      '--epochs',
      '2',
      '--yes',
      '--poll-interval',
      '1',
    ];
    const stages: FakeHold[] = [
      { route: 'POST /v1/files', when: 'before', occurrence: 1 }, // training upload begun
      { route: 'POST /v1/files', when: 'after', occurrence: 2 }, // training stored, id never seen
      { route: 'POST /v1/files', when: 'after', occurrence: 3 }, // validation stored, id never seen
      { route: 'POST /v1/fine_tuning/jobs', when: 'before', occurrence: 1 }, // job requested
      { route: 'POST /v1/fine_tuning/jobs', when: 'after', occurrence: 2 }, // job created, id never seen
      { route: 'GET /v1/fine_tuning/jobs/:id', when: 'after', occurrence: 2 }, // following
      { route: 'GET /v1/fine_tuning/jobs/:id/events', when: 'after', occurrence: 2 }, // succeeded, no brick yet
    ];
    for (const stage of stages) expect(await killAt(args, stage)).toBe(`held ${stage.route}`);
    expect(server.jobs.get([...server.jobs.keys()][0]!)?.status).toBe('succeeded');

    const final = await runCli([...args, '--json'], { env });
    expect(final.code, final.stderr).toBe(0);
    const summary = JSON.parse(final.stdout) as { model: string; jobId: string; createdJob: boolean };
    const uploads = server.uploads.filter((file) => file.purpose === 'fine-tune');
    expect(uploads.map((file) => file.filename.replace(/^dnc-\w+-(\w+)-.*$/, '$1'))).toEqual([
      'training',
      'validation',
    ]);
    expect(server.jobs.size).toBe(1);
    expect(summary).toMatchObject({ jobId: [...server.jobs.keys()][0], createdJob: false });
    const events = (await readFile(join(out, 'train-log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(new Set(events).size).toBe(events.length);

    const [example] = generateExamples({ world: 'math', n: 1, seed: 7, split: 'test' });
    const ask = ['ask', '--decomposer', out, '--solver', 'openai:gpt-4o-mini', '--json', example!.question];
    const asked = await runCli(ask, { env });
    expect(asked.code, asked.stderr).toBe(0);
    expect((JSON.parse(asked.stdout) as { answer: string }).answer).toBe(example!.answer);
    const models = server.fake.chatRequests.map((request) => `${request.kind} ${request.model}`);
    expect(models).toContain(`decompose ${summary.model.replace(/^openai:/, '')}`);
  }, 180_000);
});
