import { describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/defaults.js';
import type { Chain, Example } from '../../src/data/schemas.js';
import { scoreAnswer } from '../../src/data/metrics/index.js';
import { loadBrick } from '../../src/runtime/bricks/registry.js';
import { ReferenceBrick } from '../../src/runtime/bricks/reference-brick.js';
import { runChain } from '../../src/runtime/chain.js';
import { generateExamples } from '../../src/worlds/index.js';

async function accuracy(examples: Example[], chain: Chain) {
  const reference = await loadBrick('reference');
  const gold = await loadBrick('gold');
  const bricks = { decomposer: chain.decomposer === 'gold' ? gold : reference, solver: reference };
  let correct = 0;
  const failures: string[] = [];
  for (const example of examples) {
    const trace = await runChain(chain, bricks, {
      question: example.question,
      context: example.context,
      example,
    });
    const ok = trace.answer !== undefined && scoreAnswer(trace.answer, example).correct;
    if (ok) correct += 1;
    else
      failures.push(
        `${example.id}: ${example.question} → ${trace.answer} (${trace.failure}) gold ${example.answer}`,
      );
  }
  return { rate: correct / examples.length, failures };
}

const examples = [
  ...generateExamples({ world: 'hops', n: 150, seed: 11, split: 'test' }),
  ...generateExamples({ world: 'math', n: 150, seed: 12, split: 'test' }),
];

describe('reference bricks end to end', () => {
  it('answers at least 99% of generated hops and math questions in static mode', async () => {
    const { rate, failures } = await accuracy(examples, {
      name: 'ref/ref',
      decomposer: 'reference',
      solver: 'reference',
      mode: 'static',
      maxSubquestions: 8,
    });
    expect(rate, failures.slice(0, 5).join('\n')).toBeGreaterThanOrEqual(0.99);
  });

  it('matches static accuracy in dynamic mode and with the gold decomposer', async () => {
    const sample = examples.filter((_example, index) => index % 3 === 0);
    const dynamic = await accuracy(sample, {
      name: 'd',
      decomposer: 'reference',
      solver: 'reference',
      mode: 'dynamic',
      maxSubquestions: 8,
    });
    expect(dynamic.rate).toBeGreaterThanOrEqual(0.99);
    const gold = await accuracy(sample, {
      name: 'g',
      decomposer: 'gold',
      solver: 'reference',
      mode: 'static',
      maxSubquestions: 8,
    });
    expect(gold.rate).toBeGreaterThanOrEqual(0.99);
  });

  it('fails multi-step questions asked directly, as a weak solver would', async () => {
    const multiStep = examples.filter((example) => (example.gold?.subquestions.length ?? 0) > 1).slice(0, 60);
    const single = await accuracy(multiStep, { name: 's', solver: 'reference', mode: 'single' });
    expect(single.rate).toBeLessThan(0.2);
  });

  it('reports simulated usage priced from the reference row of the price table', async () => {
    const brick = new ReferenceBrick(
      {
        decompose: () => ['Where was Ann born?', 'What is the capital of #1?'],
        solveStep: () => ({ ok: true, answer: 'X' }),
      },
      { reference: { inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 } },
    );
    const result = await brick.decompose({
      question: 'What is the capital of the country where Ann was born?',
      maxSubquestions: 3,
    });
    expect(result).toMatchObject({
      kind: 'subquestions',
      simulated: true,
      raw: '1. Where was Ann born?\n2. What is the capital of #1?',
    });
    expect(result.usage.outputTokens).toBe(Math.ceil(result.raw.length / 4));
    expect(result.usage.inputTokens).toBeGreaterThan(40); // system prompt + question + framing
    expect(result.costUsd).toBeCloseTo(result.usage.inputTokens + 2 * result.usage.outputTokens, 6);
    const defaultPriced = await new ReferenceBrick(brick['expert']).decompose({
      question: 'q',
      maxSubquestions: 3,
    });
    const price = defaults.prices.reference;
    expect(defaultPriced.costUsd).toBeCloseTo(
      (defaultPriced.usage.inputTokens * price.inputPerMillion +
        defaultPriced.usage.outputTokens * price.outputPerMillion) /
        1e6,
      12,
    );
  });

  it('substitutes #k from earlier answers when solving several sub-questions in one call', async () => {
    const asked: string[] = [];
    const brick = new ReferenceBrick({
      decompose: () => [],
      solveStep: ({ subquestion }) => {
        asked.push(subquestion);
        return subquestion.includes('nowhere')
          ? { ok: false, reason: 'unknown place' }
          : { ok: true, answer: `A${asked.length}` };
      },
    });
    const solved = await brick.solve({
      question: 'q',
      subquestions: ['first?', 'after #1?', 'then #2 and #1?'],
    });
    expect(asked).toEqual(['first?', 'after A1?', 'then A2 and A1?']);
    expect(solved).toMatchObject({ subanswers: ['A1', 'A2', 'A3'], answer: 'A3' });
    const stuck = await brick.solve({
      question: 'q',
      subquestions: ['nowhere?'],
      previous: [{ subquestion: 'x', answer: 'y' }],
    });
    expect(stuck).toMatchObject({ answer: undefined, unanswerable: { index: 0, reason: 'unknown place' } });
  });
});
