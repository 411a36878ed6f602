/**
 * Synthetic traces and chains for the report tests: deterministic, shaped like what the eval
 * runner writes, with costs that differ by chain so that the Pareto frontier is non-trivial.
 */
import type { Chain } from '../../src/data/schemas.js';
import type { BrickCost, FailureKind, Trace } from '../../src/eval/trace-schema.js';

export const syntheticChains: Chain[] = [
  { name: 'single/ref', solver: 'reference', mode: 'single' },
  { name: 'ref/ref', decomposer: 'reference', solver: 'reference', mode: 'static' },
  { name: 'student/ref', decomposer: 'runs/quickstart/export', solver: 'reference', mode: 'static' },
  {
    name: 'student/student',
    decomposer: 'runs/quickstart/export',
    solver: 'runs/solver/export',
    mode: 'static',
  },
  { name: 'ref/ref dynamic', decomposer: 'reference', solver: 'reference', mode: 'dynamic' },
];

export function brickCost(brick: string, overrides: Partial<BrickCost> = {}): BrickCost {
  return {
    brick,
    calls: 1,
    inputTokens: 100,
    outputTokens: 20,
    latencyMs: 10,
    costUsd: 0.001,
    savedUsd: 0,
    cached: 0,
    ...overrides,
  };
}

export function makeTrace(overrides: Partial<Trace> & Pick<Trace, 'chain' | 'dataset' | 'exampleId'>): Trace {
  const correct = overrides.correct ?? true;
  const failure: FailureKind = overrides.failure ?? (correct ? 'none' : 'wrong-answer');
  return {
    question: `Question ${overrides.exampleId}?`,
    subquestions: ['What is the first fact?', 'What is #1 plus two?'],
    subanswers: ['3', '5'],
    answer: correct ? '5' : '4',
    gold: '5',
    correct,
    score: correct ? 1 : 0,
    failure,
    cost: { decompose: brickCost('reference'), solve: brickCost('reference') },
    latencyMs: 50,
    ...overrides,
  };
}

/** Per chain: (accuracy per dataset, dollars per decompose call, dollars per solve call). */
const chainProfiles: Record<string, { accuracy: Record<string, number>; decompose: number; solve: number }> =
  {
    'single/ref': { accuracy: { hops: 0.25, math: 0.2 }, decompose: 0, solve: 0.002 },
    'ref/ref': { accuracy: { hops: 0.9, math: 0.85 }, decompose: 0.003, solve: 0.004 },
    'student/ref': { accuracy: { hops: 0.9, math: 0.8 }, decompose: 0.00001, solve: 0.004 },
    'student/student': { accuracy: { hops: 0.3, math: 0.5 }, decompose: 0.00001, solve: 0.00002 },
    'ref/ref dynamic': { accuracy: { hops: 0.85, math: 0.85 }, decompose: 0.006, solve: 0.008 },
  };

/** `perDataset` examples for every chain on `hops` and `math`, correct in the profile's proportion. */
export function syntheticTraces(perDataset = 20): Trace[] {
  const traces: Trace[] = [];
  for (const chain of syntheticChains) {
    const profile = chainProfiles[chain.name]!;
    for (const dataset of ['hops', 'math']) {
      const correctCount = Math.round((profile.accuracy[dataset] ?? 0) * perDataset);
      for (let index = 0; index < perDataset; index += 1) {
        const correct = index < correctCount;
        const single = chain.mode === 'single';
        traces.push(
          makeTrace({
            chain: chain.name,
            dataset,
            exampleId: `${dataset}-${index}`,
            correct,
            failure: correct ? 'none' : index % 3 === 0 ? 'unanswerable-subquestion' : 'wrong-answer',
            subquestions: single ? [] : ['Who founded Acme?', 'Where was #1 born?'],
            subanswers: single ? [] : ['Ada', 'Oslo'],
            goldSubquestions:
              dataset === 'hops' ? ['Who founded Acme?', 'In which city was #1 born?'] : undefined,
            latencyMs: 20 + index * 5,
            cost: {
              decompose: single
                ? brickCost('none', { calls: 0, inputTokens: 0, outputTokens: 0, latencyMs: 0, costUsd: 0 })
                : brickCost(chain.decomposer as string, {
                    costUsd: index === 0 ? 0 : profile.decompose,
                    savedUsd: index === 0 ? profile.decompose : 0,
                    cached: index === 0 ? 1 : 0,
                  }),
              solve: brickCost(chain.solver, {
                calls: 2,
                costUsd: profile.solve,
                inputTokens: 150,
                outputTokens: 30,
              }),
            },
          }),
        );
      }
    }
  }
  return traces;
}
