import { afterEach, describe, expect, it } from 'vitest';
import type { Example } from '../../src/data/schemas.js';
import {
  TeacherApiCallError,
  TeacherInvalidResponseError,
  TeacherNetworkError,
  TeacherRetryError,
  TeacherTimeoutError,
} from '../../src/teacher/errors.js';
import { OpenAITeacher } from '../../src/teacher/openai-teacher.js';
import type { OpenAITeacherConfig } from '../../src/teacher/openai-teacher.js';
import { answerFromGold, scriptPerPrompt, startFakeOpenAIServer } from '../helpers/fake-openai-server.js';
import type {
  FakeBehaviour,
  FakeOpenAIServer,
  FakeOpenAIServerOptions,
} from '../helpers/fake-openai-server.js';

const example: Example = {
  id: 'e1',
  dataset: 'test',
  question: 'How many legs do 3 spiders have?',
  answer: '24',
  answerType: 'number',
  gold: { subquestions: ['How many legs does a spider have?', 'What is 3 * #1?'], subanswers: ['8', '24'] },
};

let server: FakeOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(
  options: FakeOpenAIServerOptions,
  config: Partial<OpenAITeacherConfig> = {},
): Promise<{ teacher: OpenAITeacher; server: FakeOpenAIServer; delays: number[] }> {
  server = await startFakeOpenAIServer({ answer: answerFromGold([example]), ...options });
  const delays: number[] = [];
  const teacher = new OpenAITeacher({
    model: 'gpt-4o-mini',
    baseURL: server.url,
    apiKey: 'test-key',
    retry: { maxRetries: 3, initialDelayMs: 10, maxDelayMs: 40 },
    onRetry: (event) => delays.push(event.delayMs),
    ...config,
  });
  return { teacher, server, delays };
}

const always = (behaviour: FakeBehaviour) => () => behaviour;
const firstAttempts = (...behaviours: FakeBehaviour[]) => scriptPerPrompt(() => behaviours);

describe('OpenAITeacher', () => {
  it('decomposes with structured output and prices the usage', async () => {
    const { teacher, server } = await setup({});
    const result = await teacher.decompose(example, { maxSubquestions: 4 });
    expect(result).toMatchObject({
      status: 'ok',
      subquestions: example.gold!.subquestions,
      finishReason: 'stop',
      rawFinishReason: 'stop',
      requests: 1,
    });
    expect(server.chatRequests[0]!.structured).toBe(true);
    const { inputTokens, outputTokens } = result.usage;
    expect(inputTokens).toBeGreaterThan(0);
    expect(result.costUsd).toBeCloseTo((inputTokens * 0.15 + outputTokens * 0.6) / 1e6, 12);
  });

  it('solves from sub-questions', async () => {
    const { teacher } = await setup({});
    const result = await teacher.solve(example, example.gold!.subquestions, {});
    expect(result).toMatchObject({ status: 'ok', subanswers: ['8', '24'], answer: '24' });
  });

  it('honours retry-after-ms: the retry waits the time the server asked for', async () => {
    const slept: number[] = [];
    const { teacher, server, delays } = await setup(
      { script: firstAttempts({ kind: 'rate-limit', retryAfterMs: 300 }) },
      { sleep: async (ms) => void slept.push(ms) }, // a fake clock: the waits asked for, not taken
    );
    const result = await teacher.decompose(example, { maxSubquestions: 4 });
    expect(result.status).toBe('ok');
    expect(server.chatRequests).toHaveLength(2);
    expect(delays).toEqual([300]);
    expect(slept).toEqual([300]);
  });

  it('honours retry-after in seconds', async () => {
    const slept: number[] = [];
    const { teacher, delays } = await setup(
      { script: firstAttempts({ kind: 'rate-limit', retryAfterSeconds: 1 }) },
      { sleep: async (ms) => void slept.push(ms) },
    );
    await teacher.decompose(example, { maxSubquestions: 4 });
    expect(delays).toEqual([1000]);
    expect(slept).toEqual([1000]);
  });

  it('honours retry-after as an HTTP date', async () => {
    const date = new Date(Date.now() + 3000).toUTCString();
    const { teacher, delays } = await setup(
      { script: firstAttempts({ kind: 'rate-limit', retryAfterDate: date }) },
      { sleep: async () => undefined },
    );
    // The wait is the date less the clock when the answer was read, which lies between these two
    // readings however long the call took (an HTTP date has whole seconds).
    const before = Date.now();
    await teacher.decompose(example, { maxSubquestions: 4 });
    const after = Date.now();
    expect(delays[0]).toBeGreaterThanOrEqual(Math.max(0, Date.parse(date) - after));
    expect(delays[0]).toBeLessThanOrEqual(Date.parse(date) - before);
  });

  it('retries 500s with bounded full-jitter backoff and gives up after maxRetries', async () => {
    const { teacher, server, delays } = await setup({ script: always({ kind: 'server-error' }) });
    const error = await teacher.decompose(example, { maxSubquestions: 4 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TeacherRetryError);
    expect((error as TeacherRetryError).reason).toBe('maxRetriesExceeded');
    expect((error as TeacherRetryError).errors.every((item) => item instanceof TeacherApiCallError)).toBe(
      true,
    );
    expect(server.chatRequests).toHaveLength(4); // 1 + maxRetries
    expect(delays).toHaveLength(3);
    delays.forEach((delay, index) => expect(delay).toBeLessThan(Math.min(40, 10 * 2 ** index)));
  });

  it.each([400, 401])('does not retry HTTP %i', async (status) => {
    const { teacher, server } = await setup({ script: always({ kind: 'status', status }) });
    const error = await teacher.decompose(example, { maxSubquestions: 4 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TeacherApiCallError);
    expect((error as TeacherApiCallError).isRetryable).toBe(false);
    expect((error as TeacherApiCallError).status).toBe(status);
    expect(server.chatRequests).toHaveLength(1);
  });

  it('times out a slow request and retries it', async () => {
    const retried: unknown[] = [];
    const { teacher, server } = await setup(
      { script: firstAttempts({ kind: 'slow', delayMs: 5000 }) },
      { timeoutMs: 800, onRetry: (event) => retried.push(event.error) },
    );
    const result = await teacher.decompose(example, { maxSubquestions: 4 });
    expect(result.status).toBe('ok');
    // The slow attempt was abandoned at the timeout (it would have answered after 5 s), then retried.
    expect(server.chatRequests).toHaveLength(2);
    expect(retried).toHaveLength(1);
    expect(retried[0]).toBeInstanceOf(TeacherTimeoutError);
  });

  it('reports a timeout when every attempt is too slow', async () => {
    const { teacher } = await setup(
      { script: always({ kind: 'slow', delayMs: 1000 }) },
      { timeoutMs: 100, retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1 } },
    );
    const error = (await teacher
      .decompose(example, { maxSubquestions: 4 })
      .catch((caught: unknown) => caught)) as TeacherRetryError;
    expect(error.errors.map((item) => item instanceof TeacherTimeoutError)).toEqual([true, true]);
  });

  it('retries a malformed JSON body', async () => {
    const { teacher, server } = await setup({ script: firstAttempts({ kind: 'malformed-json' }) });
    const result = await teacher.decompose(example, { maxSubquestions: 4 });
    expect(result.status).toBe('ok');
    expect(server.chatRequests).toHaveLength(2);
  });

  it('classifies a malformed body as a retryable invalid response', async () => {
    const { teacher } = await setup(
      { script: always({ kind: 'malformed-json' }) },
      { retry: { maxRetries: 0 } },
    );
    const error = (await teacher
      .decompose(example, { maxSubquestions: 4 })
      .catch((caught: unknown) => caught)) as TeacherRetryError;
    expect(error.reason).toBe('maxRetriesExceeded');
    expect(error.lastError).toBeInstanceOf(TeacherInvalidResponseError);
    expect((error.lastError as TeacherInvalidResponseError).isRetryable).toBe(true);
  });

  it('returns schema-invalid structured content as invalid with the reason, without retrying', async () => {
    const { teacher, server } = await setup({
      script: always({ kind: 'content', content: '{"subquestions": "not a list"}' }),
    });
    const result = await teacher.decompose(example, { maxSubquestions: 4 });
    expect(result.status).toBe('invalid');
    expect(result.error).toContain('does not match the schema');
    expect(result.raw).toBe('{"subquestions": "not a list"}');
    expect(server.chatRequests).toHaveLength(1);
  });

  it('marks a cut-off answer invalid', async () => {
    const { teacher } = await setup({
      script: always({ kind: 'content', content: '{"subq', finishReason: 'length' }),
    });
    const result = await teacher.decompose(example, { maxSubquestions: 4 });
    expect(result).toMatchObject({ status: 'invalid', finishReason: 'length' });
  });

  it('falls back to text when the endpoint rejects structured output, and remembers it', async () => {
    const { teacher, server } = await setup({ supportsStructuredOutput: false });
    const first = await teacher.decompose(example, { maxSubquestions: 4 });
    expect(first.status).toBe('ok');
    expect(first.subquestions).toEqual(example.gold!.subquestions);
    expect(first.warnings.join(' ')).toContain('rejected structured output');
    expect(server.chatRequests.map((request) => request.structured)).toEqual([true, false]);
    await teacher.solve(example, example.gold!.subquestions, {});
    expect(server.chatRequests.map((request) => request.structured)).toEqual([true, false, false]);
  });

  it('retries network errors', async () => {
    const { teacher, server } = await setup(
      {},
      { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 1 } },
    );
    await server.close();
    const error = (await teacher
      .decompose(example, { maxSubquestions: 4 })
      .catch((caught: unknown) => caught)) as TeacherRetryError;
    expect(error).toBeInstanceOf(TeacherRetryError);
    expect(error.errors).toHaveLength(3);
    expect(error.errors.every((item) => item instanceof TeacherNetworkError)).toBe(true);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const { teacher, server } = await setup({ latencyMs: 100 }, { concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, () => teacher.decompose(example, { maxSubquestions: 4 })));
    expect(server.chatRequests).toHaveLength(6);
    expect(server.peakRequests()).toBeLessThanOrEqual(2); // six calls at once, never 3+ on the wire
  });

  it('prices an unknown model at $0 with a warning', async () => {
    const { teacher } = await setup({}, { model: 'my-local-llama' });
    const result = await teacher.decompose(example, { maxSubquestions: 4 });
    expect(result.costUsd).toBe(0);
    expect(result.warnings.join(' ')).toContain("no price for model 'my-local-llama'");
  });
});
