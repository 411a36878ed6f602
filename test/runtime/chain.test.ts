import { describe, expect, it } from 'vitest';
import type { Chain } from '../../src/data/schemas.js';
import { GoldBrick } from '../../src/runtime/bricks/gold-brick.js';
import { ChainConfigurationError, runChain } from '../../src/runtime/chain.js';
import type { ChainStep } from '../../src/runtime/chain-trace.js';
import { FactSolver, ListDecomposer } from './fake-bricks.js';

const question = 'What is the capital of the country where Ann was born?';
const facts = {
  'Where was Ann born?': 'Freedonia',
  'What is the capital of Freedonia?': 'Fredville',
  'How many letters does Fredville have?': '9',
};
const twoSteps = ['Where was Ann born?', 'What is the capital of #1?'];
const chainOf = (mode: Chain['mode'], maxSubquestions?: number): Chain => ({
  name: `test/${mode}`,
  decomposer: mode === 'single' ? undefined : 'list',
  solver: 'facts',
  mode,
  maxSubquestions,
});

describe('static chains', () => {
  it('solves sub-questions in order with #k substituted and earlier answers given', async () => {
    const solver = new FactSolver(facts);
    const steps: ChainStep[] = [];
    const trace = await runChain(
      chainOf('static'),
      { decomposer: new ListDecomposer(twoSteps), solver },
      { question },
      { onStep: (step) => steps.push(step) },
    );
    expect(trace).toMatchObject({
      failure: 'none',
      answer: 'Fredville',
      subquestions: ['Where was Ann born?', 'What is the capital of Freedonia?'],
      subanswers: ['Freedonia', 'Fredville'],
    });
    expect(solver.calls[1].subquestions).toEqual(['What is the capital of Freedonia?']);
    expect(solver.calls[1].previous).toEqual([{ subquestion: 'Where was Ann born?', answer: 'Freedonia' }]);
    expect(steps.map((step) => [step.stage, step.answer])).toEqual([
      ['decompose', undefined],
      ['solve', 'Freedonia'],
      ['solve', 'Fredville'],
    ]);
    expect(trace.steps).toEqual(steps);
    expect(trace.cost.byStage.decompose).toMatchObject({ calls: 1, inputTokens: 10, outputTokens: 5 });
    expect(trace.cost.byStage.solve).toMatchObject({ calls: 2, inputTokens: 20, outputTokens: 10 });
    expect(trace.cost.total.costUsd).toBeCloseTo(0.003, 10);
    expect(Object.keys(trace.cost.byBrick)).toEqual(['list', 'facts']);
  });

  it('keeps only the first maxSubquestions sub-questions and passes the cap to the decomposer', async () => {
    const decomposer = new ListDecomposer([...twoSteps, 'How many letters does #2 have?']);
    const trace = await runChain(
      chainOf('static', 2),
      { decomposer, solver: new FactSolver(facts) },
      { question },
    );
    expect(decomposer.decomposeCalls[0].maxSubquestions).toBe(2);
    expect(trace.subquestions).toHaveLength(2);
    expect(trace.answer).toBe('Fredville');
    expect(trace.warnings.join()).toMatch(/proposed 3 sub-questions; kept the first 2/);
  });

  it('answers in one solve call when asked to', async () => {
    const solver = new FactSolver({ ...facts, 'What is the capital of #1?': 'Fredville' });
    const trace = await runChain(
      chainOf('static'),
      { decomposer: new ListDecomposer(twoSteps), solver },
      { question },
      { staticSolve: 'one-call' },
    );
    expect(solver.calls).toHaveLength(1);
    expect(trace).toMatchObject({
      failure: 'none',
      answer: 'Fredville',
      subanswers: ['Freedonia', 'Fredville'],
    });
  });

  it('classifies an unusable decomposition as no-decomposition without calling the solver', async () => {
    const solver = new FactSolver(facts);
    const trace = await runChain(
      chainOf('static'),
      { decomposer: new ListDecomposer([], 'failed'), solver },
      { question },
    );
    expect(trace).toMatchObject({ failure: 'no-decomposition', answer: undefined });
    expect(solver.calls).toHaveLength(0);
  });

  it('solves the question directly when the decomposer says no decomposition is needed', async () => {
    const trace = await runChain(
      chainOf('static'),
      { decomposer: new ListDecomposer([], 'no-decomposition'), solver: new FactSolver(facts) },
      { question: 'Where was Ann born?' },
    );
    expect(trace).toMatchObject({ failure: 'none', answer: 'Freedonia', subquestions: [] });
  });

  it('stops at an unanswerable sub-question and says which', async () => {
    const trace = await runChain(
      chainOf('static'),
      {
        decomposer: new ListDecomposer(['Where was Ann born?', 'Who founded #1?']),
        solver: new FactSolver(facts),
      },
      { question },
    );
    expect(trace).toMatchObject({
      failure: 'unanswerable-subquestion',
      answer: undefined,
      subanswers: ['Freedonia'],
    });
    expect(trace.unanswerable).toMatchObject({
      subquestion: 'Who founded Freedonia?',
      reason: 'not a known fact',
    });
  });

  it('records a failing brick as an error and keeps the steps so far', async () => {
    const solver = new FactSolver(facts);
    solver.solve = async () => {
      throw new Error('endpoint down');
    };
    const trace = await runChain(
      chainOf('static'),
      { decomposer: new ListDecomposer(twoSteps), solver },
      { question },
    );
    expect(trace).toMatchObject({ failure: 'error', error: 'endpoint down' });
    expect(trace.steps).toHaveLength(1);
  });

  it('throws when cancelled instead of recording an error', async () => {
    const controller = new AbortController();
    const solver = new FactSolver(facts);
    solver.solve = async () => {
      controller.abort();
      throw new Error('aborted');
    };
    await expect(
      runChain(
        chainOf('static'),
        { decomposer: new ListDecomposer(twoSteps), solver },
        { question },
        {
          signal: controller.signal,
        },
      ),
    ).rejects.toThrow('aborted');
  });
});

describe('dynamic chains', () => {
  it('asks for the next sub-question after each answer until the decomposer is done', async () => {
    const decomposer = new ListDecomposer(twoSteps);
    const trace = await runChain(
      chainOf('dynamic'),
      { decomposer, solver: new FactSolver(facts) },
      { question },
    );
    expect(trace).toMatchObject({
      failure: 'none',
      answer: 'Fredville',
      subanswers: ['Freedonia', 'Fredville'],
    });
    expect(decomposer.nextCalls.map((call) => call.previous.length)).toEqual([0, 1, 2]);
    expect(decomposer.nextCalls[2].previous[1]).toEqual({
      subquestion: 'What is the capital of Freedonia?',
      answer: 'Fredville',
    });
    expect(trace.steps.map((step) => step.stage)).toEqual([
      'decompose',
      'solve',
      'decompose',
      'solve',
      'decompose',
    ]);
  });

  it('stops asking at the cap', async () => {
    const decomposer = new ListDecomposer([...twoSteps, 'How many letters does #2 have?']);
    const trace = await runChain(
      chainOf('dynamic', 2),
      { decomposer, solver: new FactSolver(facts) },
      { question },
    );
    expect(decomposer.nextCalls).toHaveLength(2);
    expect(trace.subquestions).toHaveLength(2);
    expect(trace.warnings.join()).toMatch(/reached the cap of 2/);
  });

  it('classifies an unusable first proposal as no-decomposition', async () => {
    const trace = await runChain(
      chainOf('dynamic'),
      { decomposer: new ListDecomposer([], 'failed'), solver: new FactSolver(facts) },
      { question },
    );
    expect(trace.failure).toBe('no-decomposition');
  });
});

describe('single chains and configuration', () => {
  it('sends the whole question to the solver', async () => {
    const solver = new FactSolver(facts);
    const direct = await runChain(chainOf('single'), { solver }, { question: 'Where was Ann born?' });
    expect(direct).toMatchObject({ failure: 'none', answer: 'Freedonia', steps: [{ stage: 'solve' }] });
    const multiHop = await runChain(chainOf('single'), { solver }, { question });
    expect(multiHop).toMatchObject({ failure: 'unanswerable-subquestion', unanswerable: { index: -1 } });
  });

  it('rejects bricks that cannot play their part before calling any', async () => {
    const gold = new GoldBrick();
    await expect(runChain(chainOf('single'), { solver: gold }, { question })).rejects.toThrow(
      ChainConfigurationError,
    );
    await expect(runChain(chainOf('single'), { solver: gold }, { question })).rejects.toThrow(
      /'gold' cannot solve/,
    );
    const solverOnly = new FactSolver(facts);
    await expect(
      runChain(chainOf('static'), { decomposer: solverOnly, solver: solverOnly }, { question }),
    ).rejects.toThrow(/'facts' cannot decompose in static mode/);
  });

  it('decomposes with the gold brick from the example, and fails clearly without one', async () => {
    const example = {
      id: 'ex-1',
      dataset: 'test',
      question,
      answer: 'Fredville',
      answerType: 'text' as const,
      gold: { subquestions: twoSteps },
    };
    const chain = { ...chainOf('static'), decomposer: 'gold' };
    const bricks = { decomposer: new GoldBrick(), solver: new FactSolver(facts) };
    expect(await runChain(chain, bricks, { question, example })).toMatchObject({ answer: 'Fredville' });
    const dynamic = await runChain({ ...chain, mode: 'dynamic' }, bricks, { question, example });
    expect(dynamic).toMatchObject({ answer: 'Fredville', failure: 'none' });
    const without = await runChain(chain, bricks, { question });
    expect(without).toMatchObject({ failure: 'error' });
    expect(without.error).toMatch(/'gold' brick reads the example's gold decomposition/);
  });
});
