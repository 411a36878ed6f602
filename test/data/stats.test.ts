import { describe, expect, it } from 'vitest';
import { computeStats, formatStatsTable, questionWords } from '../../src/data/stats.js';
import type { Example } from '../../src/data/schemas.js';

const base = { dataset: 'math', answer: '3', answerType: 'number' as const };
const examples: Example[] = [
  {
    ...base,
    id: 'a',
    question: "Ann's 2 apples and 1 pear?",
    gold: { subquestions: ['x?', 'y?'] },
    meta: { template: 't1', phrasing: 'p1' },
  },
  {
    ...base,
    id: 'b',
    question: 'Ann has apples.',
    gold: { subquestions: ['x?', 'y?', 'z?', 'w?'] },
    meta: { template: 't1' },
  },
  {
    id: 'c',
    dataset: 'hops',
    question: 'Is Ada older?',
    answer: 'yes',
    answerType: 'boolean',
    context: 'Ada is 40.',
    meta: { template: 't2', phrasing: 'p2' },
  },
];

describe('computeStats', () => {
  it('counts answer types, datasets, gold and the sub-question histogram', () => {
    const stats = computeStats(examples);
    expect(stats.count).toBe(3);
    expect(stats.answerTypes).toEqual({ number: 2, boolean: 1 });
    expect(stats.datasets).toEqual({ math: 2, hops: 1 });
    expect(stats.withGold).toBe(2);
    expect(stats.withContext).toBe(1);
    expect(stats.meanSubquestions).toBe(3);
    expect(stats.subquestionCounts).toEqual({ '2': 1, '4': 1 });
  });

  it('measures template, phrasing and vocabulary diversity', () => {
    const stats = computeStats(examples);
    expect(stats.templates).toBe(2);
    expect(stats.byTemplate).toEqual({ t1: 2, t2: 1 });
    expect(stats.phrasings).toBe(2);
    // ann's 2 apples and 1 pear | ann has apples | is ada older
    expect(stats.vocabularySize).toBe(11);
    expect(stats.meanQuestionWords).toBeCloseTo((6 + 3 + 3) / 3);
  });

  it('reports zeros and no byTemplate for an empty or template-free input', () => {
    const stats = computeStats([]);
    expect(stats).toMatchObject({
      count: 0,
      meanSubquestions: 0,
      templates: 0,
      phrasings: 0,
      meanQuestionWords: 0,
    });
    expect(stats.byTemplate).toBeUndefined();
  });

  it('tokenizes words in lower case, keeping inner apostrophes', () => {
    expect(questionWords("Janet’s DUCKS lay 16 eggs, don't they?")).toEqual([
      'janet’s',
      'ducks',
      'lay',
      '16',
      'eggs',
      "don't",
      'they',
    ]);
  });

  it('prints an aligned two-column table', () => {
    const lines = formatStatsTable(computeStats(examples)).split('\n');
    expect(lines[0]).toMatch(/^examples {2,}3$/);
    // The longest label ("mean question words") is 19 characters; every value starts at column 21.
    for (const line of lines) {
      expect(line.slice(19, 21)).toBe('  ');
      expect(line[21]).toMatch(/\S/);
    }
  });
});
