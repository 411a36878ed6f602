/**
 * Graceful shutdown of the real CLI: `node bin/dnc.js serve` as a child process, a chain
 * whose solver is a slow fake OpenAI endpoint, requests in flight when SIGTERM arrives: they
 * all complete, new connections are refused, and the process exits 0. When the shutdown
 * deadline passes first, a cut stream ends with an `error` event and the process exits 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dncBin, repoRoot } from '../helpers/cli.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server.js';

function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  output: { text: string },
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern} in:\n${output.text}`)),
      30_000,
    );
    const check = () => {
      const match = pattern.exec(output.text);
      if (match === null) return;
      clearTimeout(timer);
      child.stderr?.off('data', check);
      resolve(match);
    };
    child.stderr?.on('data', check);
    child.on('exit', () => reject(new Error(`the server exited early:\n${output.text}`)));
    check();
  });
}

describe('dnc serve on SIGTERM', () => {
  let fake: FakeOpenAIServer;
  let directory: string;

  beforeAll(async () => {
    fake = await startFakeOpenAIServer({
      latencyMs: 700,
      answer: (request) =>
        request.structured ? JSON.stringify({ subanswers: [], answer: '42' }) : 'The answer is: 42',
    });
    directory = mkdtempSync(join(tmpdir(), 'dnc-serve-sigterm-'));
  });
  afterAll(async () => {
    await fake.close();
    rmSync(directory, { recursive: true, force: true });
  });

  function startServe(extraArguments: string[] = []) {
    const config = join(directory, 'serve.json');
    writeFileSync(
      config,
      JSON.stringify({ chains: [{ name: 'remote', solver: 'openai:gpt-4o-mini', mode: 'single' }] }),
    );
    const child = spawn(
      process.execPath,
      [dncBin, 'serve', '--config', config, '--port', '0', '--host', '127.0.0.1', ...extraArguments],
      {
        cwd: repoRoot,
        env: { ...process.env, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'test-key' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return child;
  }

  function ask(url: string, stream: boolean) {
    return fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'remote',
        stream,
        messages: [{ role: 'user', content: 'What is six times seven?' }],
      }),
    }).then(async (response) => ({ status: response.status, text: await response.text() }));
  }

  it('finishes the requests in flight, refuses new connections and exits 0', async () => {
    const child = startServe();
    const output = { text: '' };
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = (await waitForLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/, output))[1];
      await waitForLine(child, /dnc serve: ready/, output);
      const before = fake.chatRequests.length;
      const inFlight = [ask(url, false), ask(url, true), ask(url, false), ask(url, true)];
      while (fake.chatRequests.length < before + 4) await new Promise((resolve) => setTimeout(resolve, 10));
      child.kill('SIGTERM');
      await waitForLine(child, /SIGTERM: finishing requests in flight/, output);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      const results = await Promise.all(inFlight);
      for (const [index, result] of results.entries()) {
        expect(result.status, output.text).toBe(200);
        if (index % 2 === 0) expect(JSON.parse(result.text).choices[0].message.content).toBe('42');
        else {
          expect(result.text).toContain('The answer is: 42');
          expect(result.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
        }
      }
      expect(await exited, output.text).toBe(0);
      expect(output.text).toContain('dnc serve: stopped');
      // A config without apiKeys serves every route to anyone: said at start-up.
      expect(output.text).toMatch(/WARNING: no apiKeys .*every route is open/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('past the shutdown deadline, ends a cut stream with an error event and exits 1', async () => {
    // The fake answers after 700 ms; the deadline is 100 ms.
    const child = startServe(['--shutdown-deadline-ms', '100']);
    const output = { text: '' };
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = (await waitForLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/, output))[1];
      await waitForLine(child, /dnc serve: ready/, output);
      const before = fake.chatRequests.length;
      const streamed = ask(url, true);
      while (fake.chatRequests.length < before + 1) await new Promise((resolve) => setTimeout(resolve, 10));
      child.kill('SIGTERM');
      const result = await streamed;
      expect(result.status).toBe(200);
      expect(result.text).toContain('"code":"shutting_down"');
      expect(result.text).not.toContain('The answer is: 42');
      expect(result.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      expect(await exited, output.text).toBe(1);
      expect(output.text).toContain('deadline reached');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
