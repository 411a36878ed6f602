import { describe, expect, it } from 'vitest';
import { formatZodError } from '../../../src/data/zod-format.js';
import { pipelineSchema } from '../../../src/pipeline/pipeline-schema.js';

const pipeline = (student: Record<string, unknown>) => ({
  name: 'remote',
  datasets: [{ name: 'math', world: 'math', split: 'train', n: 10, seed: 1 }],
  teacher: 'reference',
  students: [{ name: 'decomposer', role: 'decomposer', ...student }],
});

const problems = (student: Record<string, unknown>) => {
  const parsed = pipelineSchema.safeParse(pipeline(student));
  return parsed.success ? '' : formatZodError(parsed.error);
};

describe('pipeline students with backend openai', () => {
  it('take base, epochs, seed, suffix, maxUsd and pollIntervalMs, and no preset', () => {
    expect(
      problems({
        backend: 'openai',
        base: 'gpt-4o-mini-2024-07-18',
        epochs: 3,
        seed: 1,
        suffix: 'dnc',
        maxUsd: 5,
      }),
    ).toBe('');
  });

  it('need a base and refuse the local trainer settings, naming each', () => {
    expect(problems({ backend: 'openai' })).toMatch(/needs `base`: the remote model to fine-tune/);
    const refused = problems({ backend: 'openai', base: 'gpt-4o-mini', preset: 'nano', maxSteps: 3 });
    expect(refused).toMatch(/`preset` is a setting of dnc's own trainer/);
    expect(refused).toMatch(/`maxSteps` is a setting of dnc's own trainer/);
  });

  it('a local student still needs its preset', () => {
    expect(problems({})).toMatch(/student "decomposer" needs a `preset`/);
    expect(problems({ preset: 'nano', backend: 'dnc' })).toBe('');
  });
});
