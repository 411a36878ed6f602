import { describe, expect, it } from 'vitest';
import { chainSchema, type Chain } from '../../src/data/schemas.js';
import type { Brick, DecomposeInput, DecompositionKind } from '../../src/runtime/bricks/brick.js';
import { ChainConfigurationError, runChain, type ChainBricks } from '../../src/runtime/chain.js';
import { decompositionFaults } from '../../src/runtime/routing/decomposition-faults.js';
import { callReport, FactSolver, ListDecomposer } from './fake-bricks.js';

const question = 'What is the capital of the country where Ann was born?';
const facts = {
  'Where was Ann born?': 'Freedonia',
  'What is the capital of Freedonia?': 'Fredville',
  'Which country is Ann from?': 'Freedonia',
};
const teacherSteps = ['Where was Ann born?', 'What is the capital of #1?'];

/** A local-looking decomposer (kind `onnx`) that reports a fixed confidence and counts its calls. */
class ConfidentDecomposer implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'onnx' as const;
  readonly model = 'confident';
  readonly calls: DecomposeInput[] = [];
  constructor(
    private readonly list: string[],
    private readonly meanLogProbability: number,
    private readonly kind_: DecompositionKind = 'subquestions',
    readonly spec = 'student',
  ) {}

  async decompose(input: DecomposeInput) {
    this.calls.push(input);
    const samples = input.confidenceSamples ?? 0;
    return {
      subquestions: this.list,
      kind: this.kind_,
      confidence: {
        meanLogProbability: this.meanLogProbability,
        minLogProbability: this.meanLogProbability * 3,
        tokens: 12,
        ...(samples > 0 ? { agreement: 0.6, samples } : {}),
      },
      ...callReport(this.list.join('\n'), { inputTokens: 20, outputTokens: 8 }),
      costUsd: 0.00001,
    };
  }
}

function cascade(
  threshold: number | string,
  by = 'mean-logprob',
  extra: Record<string, unknown> = {},
): Chain {
  return chainSchema.parse({
    name: 'cascade',
    decomposer: ['student', 'teacher'],
    solver: 'facts',
    mode: 'static',
    route: { by, threshold, ...extra },
  });
}
const single = (decomposer: string): Chain => ({
  name: decomposer,
  decomposer,
  solver: 'facts',
  mode: 'static',
});

function bricks(student: Brick, teacher: Brick): ChainBricks {
  return { decomposer: [student, teacher], solver: new FactSolver(facts) };
}

/** What must match between a cascade and a single-decomposer chain: answers, sub-questions and every call's cost. */
function outcome(trace: Awaited<ReturnType<typeof runChain>>) {
  return {
    answer: trace.answer,
    failure: trace.failure,
    subquestions: trace.subquestions,
    subanswers: trace.subanswers,
    steps: trace.steps.map((step) => [step.stage, step.brick, step.usage, step.costUsd]),
    total: trace.cost.total.costUsd,
  };
}

describe('cascade chains', () => {
  const studentSteps = ['Which country is Ann from?', 'What is the capital of #1?'];

  it('at threshold −∞ equals the student chain (same answers and costs)', async () => {
    const student = new ConfidentDecomposer(studentSteps, -2.5);
    const teacher = new ListDecomposer(teacherSteps, 'subquestions', 'teacher');
    const routed = await runChain(cascade('-Infinity'), bricks(student, teacher), { question });
    const alone = await runChain(
      single('student'),
      { decomposer: new ConfidentDecomposer(studentSteps, -2.5), solver: new FactSolver(facts) },
      { question },
    );
    expect(outcome(routed)).toEqual(outcome(alone));
    expect(routed.answer).toBe('Fredville');
    expect(teacher.decomposeCalls).toHaveLength(0);
    expect(routed.cascade).toEqual({ decidedBy: 'student', decidedAt: 0, escalations: 0, overruledUsd: 0 });
  });

  it('at threshold +∞ equals the teacher chain (same answers and costs; the student is not asked)', async () => {
    const student = new ConfidentDecomposer(studentSteps, -0.01);
    const routed = await runChain(
      cascade('Infinity'),
      bricks(student, new ListDecomposer(teacherSteps, 'subquestions', 'teacher')),
      { question },
    );
    const alone = await runChain(
      single('teacher'),
      {
        decomposer: new ListDecomposer(teacherSteps, 'subquestions', 'teacher'),
        solver: new FactSolver(facts),
      },
      { question },
    );
    expect(outcome(routed)).toEqual(outcome(alone));
    expect(student.calls).toHaveLength(0);
    expect(routed.cascade?.decidedBy).toBe('teacher');
  });

  it('escalates when the confidence is under the threshold, and reports who decided and what it cost', async () => {
    const student = new ConfidentDecomposer(studentSteps, -0.9);
    const teacher = new ListDecomposer(teacherSteps, 'subquestions', 'teacher');
    const low = await runChain(cascade(-0.5), bricks(student, teacher), { question });
    expect(low.cascade).toEqual({
      decidedBy: 'teacher',
      decidedAt: 1,
      escalations: 1,
      overruledUsd: 0.00001,
    });
    expect(low.subquestions).toEqual(['Where was Ann born?', 'What is the capital of Freedonia?']);
    expect(low.steps[0]!.route).toMatchObject({
      signal: 'mean-logprob',
      value: -0.9,
      threshold: -0.5,
      escalated: true,
    });
    expect(low.steps[1]!.route).toMatchObject({ escalated: false, faults: [] });
    expect(low.cost.byBrick['student']!.costUsd).toBeCloseTo(0.00001, 12);
    expect(low.cost.byBrick['teacher']!.calls).toBe(1);
    const high = await runChain(cascade(-1), bricks(new ConfidentDecomposer(studentSteps, -0.9), teacher), {
      question,
    });
    expect(high.cascade?.decidedBy).toBe('student');
    const byMinimum = await runChain(
      cascade(-2, 'min-logprob'),
      bricks(new ConfidentDecomposer(studentSteps, -0.9), teacher),
      { question },
    );
    // min-logprob is 3 × -0.9 = -2.7 < -2: escalated although the mean would pass.
    expect(byMinimum.cascade?.decidedBy).toBe('teacher');
  });

  it('asks the first decomposer for agreement samples only when the route reads agreement', async () => {
    const student = new ConfidentDecomposer(studentSteps, -0.1);
    const trace = await runChain(
      cascade(0.5, 'agreement', { samples: 4 }),
      bricks(student, new ListDecomposer(teacherSteps, 'subquestions', 'teacher')),
      { question },
    );
    expect(student.calls[0]!.confidenceSamples).toBe(4);
    expect(trace.steps[0]!.route?.value).toBe(0.6);
    expect(trace.cascade?.decidedBy).toBe('student');
    const meanOnly = new ConfidentDecomposer(studentSteps, -0.1);
    await runChain(
      cascade(-1),
      bricks(meanOnly, new ListDecomposer(teacherSteps, 'subquestions', 'teacher')),
      {
        question,
      },
    );
    expect(meanOnly.calls[0]!.confidenceSamples).toBeUndefined();
  });

  it.each([
    ['an empty or unparseable output', [] as string[], 'failed' as const],
    ['a repeated sub-question', ['Where was Ann born?', 'where was  Ann born?'], 'subquestions' as const],
    ['a #k pointing forward', ['What is the capital of #2?', 'Where was Ann born?'], 'subquestions' as const],
    ['a #k pointing at itself', ['Where was #1 born?'], 'subquestions' as const],
    ['more sub-questions than the cap', ['A?', 'B?', 'C?', 'D?'], 'subquestions' as const],
  ])('always escalates %s, even at threshold −∞', async (_name, list, kind) => {
    const chain = { ...cascade('-Infinity'), maxSubquestions: 3 };
    const teacher = new ListDecomposer(teacherSteps, 'subquestions', 'teacher');
    const trace = await runChain(chain, bricks(new ConfidentDecomposer(list, -0.01, kind), teacher), {
      question,
    });
    expect(trace.cascade?.decidedBy).toBe('teacher');
    expect(trace.steps[0]!.route?.faults.length).toBeGreaterThan(0);
    expect(trace.answer).toBe('Fredville');
  });

  it('does not count "No decomposition." as a fault', () => {
    expect(decompositionFaults({ subquestions: [], kind: 'no-decomposition' }, 3)).toEqual([]);
    expect(
      decompositionFaults({ subquestions: ['Where was Ann born?', 'What is #1?'], kind: 'subquestions' }, 3),
    ).toEqual([]);
  });

  it('probes one decomposer as the cascade would ask it, keeping its decomposition', async () => {
    const student = new ConfidentDecomposer(studentSteps, -5);
    const trace = await runChain(
      cascade(-1),
      bricks(student, new ListDecomposer(teacherSteps, 'subquestions', 'teacher')),
      { question },
      { probeDecomposer: 0 },
    );
    expect(trace.cascade?.decidedBy).toBe('student');
    expect(trace.steps[0]!.route).toMatchObject({ value: -5, escalated: false });
    expect(trace.answer).toBe('Fredville');
  });

  it('refuses, before any call and naming the chain, a first brick that cannot give the signal', async () => {
    const remote = new ListDecomposer(studentSteps, 'subquestions', 'openai-like');
    const teacher = new ListDecomposer(teacherSteps, 'subquestions', 'teacher');
    await expect(runChain(cascade(-1), bricks(remote, teacher), { question })).rejects.toThrow(
      /chain 'cascade': brick 'openai-like' \(reference\) cannot give the route signal 'mean-logprob'/,
    );
    expect(remote.decomposeCalls).toHaveLength(0);
    const unloaded = chainSchema.parse({ ...cascade(-1), route: { file: 'routes/cascade.json' } });
    await expect(
      runChain(unloaded, bricks(new ConfidentDecomposer(studentSteps, -1), teacher), { question }),
    ).rejects.toBeInstanceOf(ChainConfigurationError);
  });

  it('rejects bad cascades in the chain schema with one message each', () => {
    const base = { name: 'c', decomposer: ['a', 'b'], solver: 'reference', mode: 'static' };
    const message = (value: unknown) =>
      chainSchema
        .safeParse(value)
        .error?.issues.map((issue) => issue.message)
        .join(' | ');
    expect(message({ ...base, decomposer: [] })).toMatch(/at least one decomposer/);
    expect(message({ ...base, route: { by: 'mean-logprob', threshold: 'high' } })).toMatch(
      /`threshold` is a number/,
    );
    expect(message({ ...base, route: { by: 'loudness', threshold: 1 } })).toMatch(/`by` is one of/);
    expect(message(base)).toMatch(/needs a `route` rule/);
    expect(message({ ...base, mode: 'dynamic', route: { by: 'mean-logprob', threshold: 1 } })).toMatch(
      /static/,
    );
    expect(message({ ...base, route: { by: 'scorer', threshold: 0.5 } })).toMatch(/needs a `scorer`/);
  });
});
