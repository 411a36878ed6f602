/**
 * The official `openai` client, pointed at a dnc server on 127.0.0.1, gets correct answers
 * from decomposer → solver chains, non-streaming and streaming. The chain's bricks are a
 * parameter: the reference expert (in worker threads under both placements), and a local `nano`
 * decomposer brick (trained here on these questions' decompositions, run in worker threads).
 */
import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDecomposePrompt, renderDecomposition } from '../../src/prompts/index.js';
import { trainStudent } from '../../src/train/train-loop.js';
import { createReferenceExpert } from '../../src/worlds/index.js';
import { scoreAnswer } from '../../src/data/metrics/index.js';
import type { Example } from '../../src/data/schemas.js';
import type { ServeConfigInput } from '../../src/serve/serve-config.js';
import { generateExamples } from '../../src/worlds/index.js';
import { startTestServer, type TestServer } from './serve-harness.js';

interface Variant {
  title: string;
  decomposer: string;
  solver: string;
  workers?: ServeConfigInput['workers'];
}

const nanoRoot = mkdtempSync(join(tmpdir(), 'dnc-serve-nano-'));
const nanoBrick = join(nanoRoot, 'brick');

const variants: Variant[] = [
  {
    title: 'reference decomposer and solver, placement auto (worker threads)',
    decomposer: 'reference',
    solver: 'reference',
  },
  {
    title: 'reference bricks forced into worker threads',
    decomposer: 'reference',
    solver: 'reference',
    workers: { placement: 'always', threads: 2 },
  },
  {
    title: 'local nano decomposer (worker threads) and reference solver',
    decomposer: nanoBrick,
    solver: 'reference',
  },
];

const examples: Example[] = [
  ...generateExamples({ world: 'hops', n: 4, seed: 21, split: 'test' }),
  ...generateExamples({ world: 'math', n: 4, seed: 22, split: 'test' }),
];

/** Trains the nano decomposer on these questions (compact prompts, the brick's own style) and exports it. */
beforeAll(async () => {
  const expert = createReferenceExpert();
  const chats = examples.map((example) => ({
    messages: [
      ...renderDecomposePrompt({ question: example.question, maxSubquestions: 8 }, 'compact'),
      { role: 'assistant' as const, content: renderDecomposition(expert.decompose(example.question) ?? []) },
    ],
  }));
  const dataFile = join(nanoRoot, 'train.jsonl');
  await writeFile(dataFile, chats.map((chat) => `${JSON.stringify(chat)}\n`).join(''));
  const summary = await trainStudent({
    dataFile,
    role: 'decomposer',
    preset: 'nano',
    outDirectory: join(nanoRoot, 'run'),
    resume: false,
    overrides: {
      maxSteps: 200,
      epochs: 1000,
      evalEvery: 100,
      checkpointEvery: 1000,
      warmupSteps: 10,
      learningRate: 1e-2,
      batchSize: 4,
      promptFormat: 'compact',
      allowSmallData: true,
    },
    exportDirectory: nanoBrick,
    threads: 1,
  });
  expect(summary.finalTrainLoss).toBeLessThan(0.05);
}, 120_000);

describe.each(variants)('openai client against a $title chain', (variant) => {
  let server: TestServer;
  let client: OpenAI;
  const model = 'student/ref';

  beforeAll(async () => {
    server = await startTestServer({
      chains: [
        {
          name: model,
          decomposer: variant.decomposer,
          solver: variant.solver,
          mode: 'static',
          maxSubquestions: 8,
        },
      ],
      workers: variant.workers,
    });
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused-without-configured-keys', maxRetries: 0 });
  });
  afterAll(async () => server.close());

  it('lists the chain as a model', async () => {
    const models = await client.models.list();
    expect(models.data.map((entry) => entry.id)).toEqual([model]);
  });

  it('answers generated world questions correctly without streaming', async () => {
    let decomposed = 0;
    for (const example of examples) {
      const completion = await client.chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'You are a helpful assistant.' },
          { role: 'user', content: example.question },
        ],
      });
      const content = completion.choices[0]?.message.content ?? '';
      expect(
        scoreAnswer(content, example).correct,
        `${example.question} → ${content} (gold ${example.answer})`,
      ).toBe(true);
      expect(completion.object).toBe('chat.completion');
      expect(completion.choices[0]?.finish_reason).toBe('stop');
      expect(completion.usage?.total_tokens).toBe(
        (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
      );
      expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
      const dnc = (
        completion as unknown as {
          dnc: {
            subquestions: string[];
            subanswers: string[];
            cost: { byBrick: Record<string, { costUsd: number }> };
          };
        }
      ).dnc;
      if (dnc.subquestions.length > 0) decomposed += 1;
      expect(dnc.subanswers).toHaveLength(dnc.subquestions.length);
      expect(dnc.cost.byBrick[variant.solver]?.costUsd).toBeGreaterThan(0);
    }
    expect(decomposed).toBeGreaterThanOrEqual(examples.length / 2);
  });

  it('streams the steps, then the final answer, through the async iterator', async () => {
    for (const example of examples.slice(0, 4)) {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: example.question }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const deltas: string[] = [];
      const finishReasons: (string | null)[] = [];
      let usage: OpenAI.CompletionUsage | null | undefined;
      let roleSeen = false;
      for await (const chunk of stream) {
        expect(chunk.object).toBe('chat.completion.chunk');
        const choice = chunk.choices[0];
        if (choice?.delta.role === 'assistant') roleSeen = true;
        if (choice?.delta.content) deltas.push(choice.delta.content);
        if (choice !== undefined) finishReasons.push(choice.finish_reason);
        if (chunk.usage) usage = chunk.usage;
      }
      expect(roleSeen).toBe(true);
      expect(finishReasons.at(-1)).toBe('stop');
      expect(usage?.total_tokens).toBeGreaterThan(0);
      // One delta per step (decomposition, each sub-answer), then the final answer.
      expect(deltas[0]).toMatch(/^(Sub-questions:\n1\. |No decomposition)/);
      expect(deltas.length).toBeGreaterThanOrEqual(2);
      const final = deltas.at(-1) ?? '';
      expect(final).toMatch(/^The answer is: /);
      const answer = final.replace(/^The answer is: /, '');
      expect(
        scoreAnswer(answer, example).correct,
        `${example.question} → ${answer} (gold ${example.answer})`,
      ).toBe(true);
    }
  });
});
