import { describe, expect, it } from 'vitest';
import {
  averageAcrossGroups,
  dominates,
  paretoFrontier,
  paretoFrontierByGroup,
} from '../../src/eval/pareto.js';

const point = (name: string, cost: number, score: number) => ({ name, cost, score });
const names = (points: { name: string }[]) => points.map((entry) => entry.name);

describe('paretoFrontier', () => {
  it('keeps exactly the non-dominated points, cheapest first', () => {
    const points = [
      point('cheap-weak', 1, 0.2),
      point('mid', 2, 0.6),
      point('dominated-by-mid', 3, 0.5),
      point('expensive-best', 10, 0.9),
      point('dominated-by-best', 12, 0.9), // same score, costs more
      point('dominated-same-cost', 2, 0.55), // same cost as mid, scores less
    ];
    expect(names(paretoFrontier(points))).toEqual(['cheap-weak', 'mid', 'expensive-best']);
  });

  it('keeps both of two equal points (neither is strictly better)', () => {
    const points = [point('a', 1, 0.5), point('b', 1, 0.5), point('c', 2, 0.4)];
    expect(names(paretoFrontier(points))).toEqual(['a', 'b']);
  });

  it('keeps every duplicate of a frontier point but drops duplicates of a dominated point', () => {
    const points = [point('x', 0, 0.1), point('y', 5, 0.3), point('y2', 5, 0.3), point('z', 6, 0.3)];
    expect(names(paretoFrontier(points))).toEqual(['x', 'y', 'y2']);
    const dominated = [point('best', 1, 1), point('d1', 2, 0.5), point('d2', 2, 0.5)];
    expect(names(paretoFrontier(dominated))).toEqual(['best']);
  });

  it('returns a single point, and nothing for nothing', () => {
    expect(names(paretoFrontier([point('only', 3, 0.3)]))).toEqual(['only']);
    expect(paretoFrontier([])).toEqual([]);
  });

  it('agrees with the pairwise definition on a grid with many ties', () => {
    const points = [];
    for (let cost = 0; cost < 4; cost += 1)
      for (let score = 0; score < 4; score += 1)
        points.push(point(`${cost},${score}`, cost, (score * cost) % 3));
    const frontier = new Set(paretoFrontier(points));
    for (const candidate of points) {
      const dominated = points.some((other) => dominates(other, candidate));
      expect(frontier.has(candidate)).toBe(!dominated);
    }
  });

  it('defines domination as no worse on both and strictly better on one', () => {
    expect(dominates({ cost: 1, score: 0.5 }, { cost: 1, score: 0.5 })).toBe(false);
    expect(dominates({ cost: 1, score: 0.5 }, { cost: 2, score: 0.5 })).toBe(true);
    expect(dominates({ cost: 1, score: 0.6 }, { cost: 1, score: 0.5 })).toBe(true);
    expect(dominates({ cost: 0.5, score: 0.4 }, { cost: 1, score: 0.5 })).toBe(false);
  });

  it('rejects non-finite numbers', () => {
    expect(() => paretoFrontier([point('bad', Number.NaN, 0.5)])).toThrow(/non-finite/);
  });
});

describe('frontiers per dataset and across datasets', () => {
  const results = [
    { chain: 'a', dataset: 'hops', cost: 1, score: 0.9 },
    { chain: 'b', dataset: 'hops', cost: 2, score: 0.5 },
    { chain: 'a', dataset: 'math', cost: 3, score: 0.1 },
    { chain: 'b', dataset: 'math', cost: 2, score: 0.7 },
    { chain: 'c', dataset: 'math', cost: 0, score: 0.0 },
  ];

  it('computes one frontier per dataset', () => {
    const frontiers = paretoFrontierByGroup(results, (result) => result.dataset);
    expect([...frontiers.keys()]).toEqual(['hops', 'math']);
    expect(frontiers.get('hops')!.map((result) => result.chain)).toEqual(['a']);
    expect(frontiers.get('math')!.map((result) => result.chain)).toEqual(['c', 'b']);
  });

  it('averages chains present on every dataset and leaves the others out', () => {
    const averaged = averageAcrossGroups(
      results,
      (result) => result.chain,
      (result) => result.dataset,
    );
    expect(averaged).toEqual([
      { key: 'a', cost: 2, score: 0.5, groups: 2 },
      { key: 'b', cost: 2, score: 0.6, groups: 2 },
    ]);
    expect(paretoFrontier(averaged).map((entry) => entry.key)).toEqual(['b']);
  });

  it('refuses two points of one chain on one dataset', () => {
    expect(() =>
      averageAcrossGroups(
        [...results, { chain: 'a', dataset: 'hops', cost: 5, score: 0.2 }],
        (result) => result.chain,
        (result) => result.dataset,
      ),
    ).toThrow(/appears twice/);
  });
});
