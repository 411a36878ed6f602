import { describe, expect, it } from 'vitest';
import { startFakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { expertChatAnswer } from '../runtime/expert-chat-answer.js';
import { generateExamples } from '../../src/worlds/index.js';
import { runCli } from '../helpers/cli.js';

const [hops] = generateExamples({ world: 'hops', n: 40, seed: 3, split: 'test' }).filter(
  (example) => (example.gold?.subquestions.length ?? 0) >= 2,
);

describe.concurrent('dnc ask', () => {
  it('prints sub-questions, sub-answers, the answer and the cost table', async () => {
    const result = await runCli(['ask', '--decomposer', 'reference', '--solver', 'reference', hops.question]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Sub-questions:\n  1. ');
    expect(result.stdout).toContain(`Answer: ${hops.answer}`);
    expect(result.stdout).toMatch(/^decompose\s+reference\*\s+1\s/m);
    expect(result.stdout).toMatch(/^solve\s+reference\*\s+\d+\s/m);
    expect(result.stdout).toContain('simulated price');
  });

  it('prints one JSON object with the trace in dynamic mode', async () => {
    const result = await runCli([
      'ask',
      '--decomposer',
      'reference',
      '--solver',
      'reference',
      '--mode',
      'dynamic',
      '--json',
      hops.question,
    ]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as Record<string, unknown> & {
      steps: { stage: string }[];
      subquestions: string[];
      cost: { byStage: { decompose: { calls: number } } };
    };
    expect(output).toMatchObject({
      question: hops.question,
      mode: 'dynamic',
      answer: hops.answer,
      failure: 'none',
    });
    expect(output.subquestions.length).toBe(hops.gold?.subquestions.length);
    expect(output.cost.byStage.decompose.calls).toBe(output.subquestions.length + 1);
    expect(output.steps[0].stage).toBe('decompose');
  });

  it('reports a multi-step question the single-mode reference solver cannot answer', async () => {
    const result = await runCli(['ask', '--solver', 'reference', '--json', hops.question]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ mode: 'single', failure: 'unanswerable-subquestion' });
  });

  it('chains an openai decomposer (the fake server) with the reference solver', async () => {
    const server = await startFakeOpenAIServer({ answer: expertChatAnswer() });
    try {
      const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test' };
      const result = await runCli(
        ['ask', '--decomposer', 'openai:gpt-4o-mini', '--solver', 'reference', '--json', hops.question],
        { env },
      );
      expect(result.code).toBe(0);
      const output = JSON.parse(result.stdout) as {
        answer: string;
        cost: { byBrick: Record<string, { calls: number }> };
      };
      expect(output.answer).toBe(hops.answer);
      expect(output.cost.byBrick['openai:gpt-4o-mini'].calls).toBe(1);
      expect(server.chatRequests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('fails with one line naming the bad flag', async () => {
    const [badSpec, badCap, noDecomposer] = await Promise.all([
      runCli(['ask', '--decomposer', 'reference', '--solver', 'openai:', 'q?']),
      runCli(['ask', '--solver', 'reference', '--max-subquestions', '0', 'q?']),
      runCli(['ask', '--solver', 'reference', '--mode', 'dynamic', 'q?']),
    ]);
    expect(badSpec.code).not.toBe(0);
    expect(badSpec.stderr).toMatch(/^dnc: --solver: brick spec 'openai:': no model after `openai:`/);
    expect(badCap.stderr).toMatch(
      /^dnc: dnc ask: maxSubquestions: --max-subquestions takes a positive integer/,
    );
    expect(noDecomposer.stderr).toMatch(/^dnc: --mode dynamic needs a decomposer/);
  });
});
