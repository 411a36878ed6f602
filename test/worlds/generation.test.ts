import { describe, expect, it } from 'vitest';
import { exampleSchema } from '../../src/data/schemas.js';
import type { Example } from '../../src/data/schemas.js';
import { findReferences } from '../../src/data/subquestion-references.js';
import { generateExamples, splitNames, worldNames } from '../../src/worlds/index.js';
import type { SplitName, WorldName } from '../../src/worlds/index.js';

const generate = (world: WorldName, split: SplitName, seed = 5, n = 600) =>
  generateExamples({ world, n, seed, split });
const distinct = (examples: Example[], key: string) =>
  new Set(examples.map((example) => String(example.meta?.[key])));
const entities = (examples: Example[]) =>
  new Set(examples.flatMap((example) => example.meta?.entities as string[]));
const numbers = (examples: Example[]) =>
  examples.map((example) => example.question.match(/\d[\d,.]*/g)?.join(' ') ?? '');

describe('generated examples', () => {
  for (const world of worldNames) {
    it(`${world}: every example is a valid Example with meta and a consistent gold decomposition`, () => {
      for (const split of splitNames) {
        for (const example of generate(world, split, 5, 300)) {
          expect(exampleSchema.safeParse(example).success).toBe(true);
          expect(example.meta).toMatchObject({ world, split });
          const gold = example.gold!;
          expect(gold.subanswers).toHaveLength(gold.subquestions.length);
          expect(gold.subquestions.length === 0 || gold.subquestions.length >= 2).toBe(true);
          if (gold.subquestions.length > 0) expect(gold.subanswers?.at(-1)).toBe(example.answer);
          gold.subquestions.forEach((subquestion, index) => {
            for (const reference of findReferences(subquestion)) expect(reference).toBeLessThanOrEqual(index);
          });
        }
      }
    });

    it(`${world}: the same seed gives the same examples, another seed other entities and numbers`, () => {
      const first = generate(world, 'train', 9);
      expect(generate(world, 'train', 9)).toEqual(first);
      const other = generate(world, 'train', 10);
      expect(other.map((example) => example.question)).not.toEqual(first.map((example) => example.question));
      expect(numbers(other)).not.toEqual(numbers(first));
      const shared = [...entities(other)].filter((entity) => entities(first).has(entity));
      expect(shared.length).toBeLessThan(entities(other).size);
    });

    it(`${world}: ood differs from train in templates, phrasings and step counts`, () => {
      const train = generate(world, 'train');
      const ood = generate(world, 'ood');
      const meanSteps = (examples: Example[]) =>
        examples.reduce((sum, example) => sum + (example.meta?.steps as number), 0) / examples.length;
      expect(meanSteps(ood)).toBeGreaterThan(meanSteps(train) + 0.3);
      const trainPhrasings = distinct(train, 'phrasing');
      const newPhrasings = ood.filter((example) => !trainPhrasings.has(String(example.meta?.phrasing)));
      expect(newPhrasings.length / ood.length).toBeGreaterThan(0.3);
      expect(ood.filter((example) => example.meta?.heldOutPhrasing === true).length).toBeGreaterThan(
        ood.length / 4,
      );
      expect(train.some((example) => example.meta?.heldOutPhrasing === true)).toBe(false);
    });

    it(`${world}: has many templates and phrasings and a small share of one-step questions`, () => {
      const train = generate(world, 'train', 5, 2000);
      expect(distinct(train, 'template').size).toBeGreaterThanOrEqual(8);
      expect(distinct(train, 'phrasing').size).toBeGreaterThanOrEqual(30);
      const oneStep =
        train.filter((example) => example.gold?.subquestions.length === 0).length / train.length;
      expect(oneStep).toBeGreaterThan(0.03);
      expect(oneStep).toBeLessThan(0.2);
    });

    it(`${world}: test entities are disjoint from train entities`, () => {
      const train = entities(generate(world, 'train', 5, 2000));
      const test = entities(generate(world, 'test', 5, 2000));
      expect(test.size).toBeGreaterThan(20);
      expect([...test].filter((entity) => train.has(entity))).toEqual([]);
    });
  }

  it('hops: 4-hop chains appear only in ood', () => {
    const template = (split: SplitName) => distinct(generate('hops', split), 'template');
    expect(template('ood').has('bridge-4')).toBe(true);
    expect(template('train').has('bridge-4')).toBe(false);
    expect(template('test').has('bridge-4')).toBe(false);
  });

  // How fast is a benchmark's question (no wall-clock bound here: it fails on a loaded machine).
  it('generates 10,000 examples of each world', () => {
    for (const world of worldNames)
      expect(generateExamples({ world, n: 10_000, seed: 1, split: 'train' })).toHaveLength(10_000);
  });
});
