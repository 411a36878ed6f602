import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreAnswer } from '../../src/data/metrics/index.js';
import type { Chain } from '../../src/data/schemas.js';
import { loadBrick } from '../../src/runtime/bricks/registry.js';
import { runChain } from '../../src/runtime/chain.js';
import { generateExamples } from '../../src/worlds/index.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { expertChatAnswer } from './expert-chat-answer.js';

let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer({ answer: expertChatAnswer() });
});
afterAll(() => server.close());

const examples = [
  ...generateExamples({ world: 'hops', n: 12, seed: 21, split: 'test' }),
  ...generateExamples({ world: 'math', n: 12, seed: 22, split: 'test' }),
];

async function run(chain: Chain, staticSolve?: 'one-call') {
  const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test' };
  const load = (spec: string) => loadBrick(spec, { env });
  const bricks = {
    decomposer: typeof chain.decomposer === 'string' ? await load(chain.decomposer) : undefined,
    solver: await load(chain.solver),
  };
  const traces = [];
  for (const example of examples)
    traces.push(await runChain(chain, bricks, { question: example.question }, { staticSolve }));
  const correct = traces.filter(
    (trace, index) => trace.answer !== undefined && scoreAnswer(trace.answer, examples[index]).correct,
  );
  return { traces, rate: correct.length / examples.length };
}

describe('openai bricks against the fake server', () => {
  it('decompose and solve with static, dynamic and one-call chains, priced from the table', async () => {
    const before = server.chatRequests.length;
    const staticRun = await run({
      name: 's',
      decomposer: 'openai:gpt-4o-mini',
      solver: 'openai:gpt-4o-mini',
      mode: 'static',
    });
    expect(staticRun.rate).toBe(1);
    const trace = staticRun.traces[0];
    const calls = trace.subquestions.length + 1;
    expect(server.chatRequests.length - before).toBeGreaterThanOrEqual(examples.length * 2);
    expect(trace.steps).toHaveLength(calls);
    const usage = trace.cost.total;
    expect(usage.costUsd).toBeCloseTo((usage.inputTokens * 0.15 + usage.outputTokens * 0.6) / 1e6, 12);
    expect(usage.simulated).toBe(false);
    const oneCall = await run(
      { name: 'o', decomposer: 'openai:gpt-4o-mini', solver: 'openai:gpt-4o-mini', mode: 'static' },
      'one-call',
    );
    expect(oneCall.rate).toBe(1);
    expect(oneCall.traces[0].cost.byStage.solve.calls).toBe(1);
    const dynamicRun = await run({
      name: 'd',
      decomposer: 'openai:gpt-4o-mini',
      solver: 'reference',
      mode: 'dynamic',
    });
    expect(dynamicRun.rate).toBe(1);
    expect(server.chatRequests.some((request) => request.kind === 'next-subquestion')).toBe(true);
    const mixed = await run({
      name: 'm',
      decomposer: 'reference',
      solver: 'openai:gpt-4o-mini',
      mode: 'dynamic',
    });
    expect(mixed.rate).toBe(1);
  });

  it('turns an unusable completion into a classified failure, not a crash', async () => {
    const broken = await startFakeOpenAIServer({ answer: () => 'Sorry, I would rather not.' });
    try {
      const env = { OPENAI_BASE_URL: broken.url, OPENAI_API_KEY: 'test' };
      const decomposer = await loadBrick('openai:gpt-4o-mini', { env });
      const solver = await loadBrick('reference');
      const trace = await runChain(
        { name: 'b', decomposer: 'x', solver: 'reference', mode: 'static' },
        { decomposer, solver },
        { question: examples[0].question },
      );
      expect(trace.failure).toBe('no-decomposition');
      expect(trace.warnings.join()).toMatch(
        /decompose, openai:gpt-4o-mini\): structured output is not valid JSON/,
      );
    } finally {
      await broken.close();
    }
  });

  it('refuses to load without an endpoint or a key', async () => {
    await expect(loadBrick('openai:gpt-4o-mini', { env: {} })).rejects.toThrow(
      /needs OPENAI_API_KEY .* or OPENAI_BASE_URL/,
    );
  });
});
