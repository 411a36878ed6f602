/**
 * A request's `max_tokens` reaches the local brick running in a worker thread: the decomposer
 * generates at most that many tokens.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPlainDecomposer, makeNanoBrick } from '../export/brick-fixture.js';
import { startTestServer, type TestServer } from './serve-harness.js';

let server: TestServer;

beforeAll(async () => {
  const fixture = await makeNanoBrick('decomposer', 3, 0.2);
  // The same weights with every decoding helper off, so the one decompose call is the only
  // generation, and a context that holds the decompose prompt (about 370 tokens here).
  const brick = join(fixture.root, 'plain');
  await exportPlainDecomposer(fixture, brick);
  server = await startTestServer({
    chains: [{ name: 'nano/ref', decomposer: brick, solver: 'reference', mode: 'static' }],
  });
}, 60_000);

afterAll(async () => server?.close());

async function decomposeTokens(extra: Record<string, unknown>): Promise<number> {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'nano/ref',
      messages: [{ role: 'user', content: 'How old is the mayor of the city where Ada Lovelace was born?' }],
      ...extra,
    }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    dnc: { cost: { byStage: { decompose: { calls: number; outputTokens: number } } } };
  };
  expect(body.dnc.cost.byStage.decompose.calls).toBe(1);
  return body.dnc.cost.byStage.decompose.outputTokens;
}

describe('max_tokens in a served request', () => {
  it('bounds the tokens the local decomposer generates (max_tokens and max_completion_tokens)', async () => {
    const unbounded = await decomposeTokens({});
    expect(unbounded).toBeGreaterThan(3);
    expect(await decomposeTokens({ max_tokens: 3 })).toBeLessThanOrEqual(3);
    expect(await decomposeTokens({ max_completion_tokens: 2 })).toBeLessThanOrEqual(2);
  }, 60_000);
});
