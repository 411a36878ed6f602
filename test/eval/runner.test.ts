import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chain } from '../../src/data/schemas.js';
import { reportSchema, type Report } from '../../src/eval/report-schema.js';
import { runEval, type EvalResult } from '../../src/eval/runner.js';
import { parseSuite, type Suite } from '../../src/eval/suite.js';
import { makeNanoBrick, type BrickFixture } from '../export/brick-fixture.js';

let root: string;
let nano: BrickFixture;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-eval-runner-'));
  nano = await makeNanoBrick('decomposer');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(nano.root, { recursive: true, force: true });
});

const referenceChains: Chain[] = [
  { name: 'single: reference', solver: 'reference', mode: 'single' },
  { name: 'reference/reference static', decomposer: 'reference', solver: 'reference', mode: 'static' },
  { name: 'reference/reference dynamic', decomposer: 'reference', solver: 'reference', mode: 'dynamic' },
];

function worldsSuite(chains: Chain[], extra: Partial<Suite> = {}): Suite {
  return parseSuite(
    {
      name: 'worlds-test',
      datasets: [
        { name: 'hops', world: 'hops', split: 'test', n: 5, seed: 4 },
        { name: 'math', world: 'math', split: 'test', n: 5, seed: 4 },
      ],
      chains,
      concurrency: 4,
      ...extra,
    },
    'test suite',
  );
}

function totals(report: Report) {
  let cost = 0;
  let saved = 0;
  for (const result of report.results) {
    cost += result.costUsd.total;
    saved += result.savedUsd;
  }
  return { cost, saved };
}

/** The paper-table cells of report.md, by chain and dataset: score % and stage dollars. */
function markdownCells(markdown: string, datasets: string[]) {
  // Table lines (the `|---|` rule does not start with `| `): the paper table's header, then its rows.
  const lines = markdown.split('\n').filter((line) => line.startsWith('| '));
  const header = lines[0].split('|').map((cell) => cell.trim());
  const cells = new Map<string, { score: number; decompose: number; solve: number }>();
  for (const line of lines.slice(1)) {
    const columns = line.split('|').map((cell) => cell.trim());
    if (columns.length !== header.length) break;
    const chain = columns[1].replace(/ †$/, '');
    for (const dataset of datasets) {
      const match = /^([\d.]+) \(±[\d.]+\) · \$([\d.e+-]+)\/\$([\d.e+-]+)/.exec(
        columns[header.indexOf(dataset)],
      );
      if (match === null) continue;
      cells.set(`${chain}|${dataset}`, {
        score: Number(match[1]),
        decompose: Number(match[2]),
        solve: Number(match[3]),
      });
    }
  }
  return cells;
}

describe('the eval runner on the synthetic worlds', () => {
  let chains: Chain[];
  let first: EvalResult;
  let out: string;

  beforeAll(async () => {
    chains = [
      ...referenceChains,
      // The nano student decomposer (random weights: it exercises the local brick path, not accuracy).
      {
        name: 'nano/reference static',
        decomposer: nano.brickDirectory,
        solver: 'reference',
        mode: 'static',
        maxSubquestions: 2,
      },
    ];
    out = join(root, 'first');
    first = await runEval({ suite: worldsSuite(chains), out });
  }, 60_000);

  it('writes report.json, report.md and report.html for every chain × dataset', async () => {
    for (const file of ['report.json', 'report.md', 'report.html', 'traces.jsonl', 'cache.jsonl'])
      expect(existsSync(join(out, file)), file).toBe(true);
    const written = reportSchema.parse(JSON.parse(await readFile(join(out, 'report.json'), 'utf8')));
    expect(written).toEqual(first.report);
    expect(written.results.map((result) => `${result.chain}|${result.dataset}`)).toEqual(
      chains.flatMap((chain) => [`${chain.name}|hops`, `${chain.name}|math`]),
    );
    for (const result of written.results) expect(result.n).toBe(5);
    const byName = (name: string, dataset: string) =>
      written.results.find((result) => result.chain === name && result.dataset === dataset)!;
    // The reference expert answers one step at a time: decomposed chains are perfect, math single-stage fails.
    expect(byName('reference/reference static', 'math').score).toBe(1);
    expect(byName('reference/reference dynamic', 'hops').score).toBe(1);
    expect(byName('single: reference', 'math').score).toBe(0);
    expect(byName('reference/reference static', 'math').decomposition?.stepCountAgreement).toBe(1);
    expect(byName('nano/reference static', 'hops').costUsd.decompose).toBeGreaterThan(0);
    expect(first.summary.computed).toBe(40);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
  });

  it('writes the same numbers in report.md as in report.json', async () => {
    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    const cells = markdownCells(markdown, ['hops', 'math']);
    expect(cells.size).toBe(first.report.results.length);
    for (const result of first.report.results) {
      const cell = cells.get(`${result.chain}|${result.dataset}`)!;
      expect(cell.score).toBeCloseTo(result.score * 100, 1);
      for (const [shown, exact] of [
        [cell.decompose, result.costUsd.decompose],
        [cell.solve, result.costUsd.solve],
      ])
        expect(Math.abs(shown - exact)).toBeLessThanOrEqual(exact * 0.0051 + 1e-15);
    }
  });

  it('reruns from the cache for $0 and reports the first run’s cost as saved', async () => {
    const before = totals(first.report);
    expect(before.cost).toBeGreaterThan(0);
    const rerun = await runEval({
      suite: worldsSuite(chains),
      out: join(root, 'rerun'),
      cacheFile: join(out, 'cache.jsonl'),
    });
    expect(rerun.summary.cacheMisses).toBe(0);
    expect(totals(rerun.report).cost).toBe(0);
    for (const [index, result] of rerun.report.results.entries()) {
      const earlier = first.report.results[index];
      expect(result.score).toBe(earlier.score);
      expect(result.savedUsd).toBeCloseTo(earlier.costUsd.total, 12);
    }
    expect(totals(rerun.report).saved).toBeCloseTo(before.cost, 12);
  }, 60_000);

  it('skips every finished example when run again in the same directory', async () => {
    const again = await runEval({ suite: worldsSuite(chains), out });
    expect(again.summary).toMatchObject({ computed: 0, resumed: 40, cacheHits: 0, cacheMisses: 0 });
    expect(again.report).toEqual(first.report);
  }, 30_000);
});

describe('the eval runner with failing bricks and settings', () => {
  it('records a brick error as an error trace and retries it on the next run', async () => {
    const out = join(root, 'errors');
    let failing = true;
    const flaky = {
      kind: 'openai' as const,
      load: async () => ({
        specificationVersion: 'v1' as const,
        spec: 'openai:flaky',
        kind: 'openai' as const,
        model: 'flaky',
        solve: async (input: { question: string }) => {
          if (failing && input.question.includes('e'))
            throw new Error('connection reset by the flaky solver');
          return {
            subanswers: [],
            answer: 'no',
            usage: { inputTokens: 10, outputTokens: 1 },
            latencyMs: 1,
            costUsd: 0.001,
            raw: 'The answer is: no',
            warnings: [],
            finishReason: 'stop' as const,
          };
        },
      }),
    };
    const suite = parseSuite(
      {
        name: 'flaky',
        datasets: [{ name: 'hops', world: 'hops', split: 'test', n: 6, seed: 4 }],
        chains: [{ name: 'flaky', solver: 'openai:flaky', mode: 'single' }],
      },
      'flaky suite',
    );
    const loaders = [flaky];
    const broken = await runEval({ suite, out, loaders });
    const errors = broken.traces.filter((trace) => trace.failure === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0].error).toContain('connection reset');
    expect(broken.report.results[0].failures?.error).toBe(errors.length);
    failing = false;
    const fixed = await runEval({ suite, out, loaders });
    expect(fixed.summary.computed).toBe(errors.length);
    expect(fixed.traces.every((trace) => trace.failure !== 'error')).toBe(true);
  });

  it('merges price overrides into the table and refuses to mix prices in one directory', async () => {
    const out = join(root, 'prices');
    const free = worldsSuite(referenceChains.slice(1, 2), {
      prices: { reference: { inputPerMillion: 0, outputPerMillion: 0 } },
    });
    const result = await runEval({ suite: free, out, limit: 2 });
    expect(result.report.results.every((entry) => entry.costUsd.total === 0)).toBe(true);
    await expect(runEval({ suite: worldsSuite(referenceChains.slice(1, 2)), out, limit: 2 })).rejects.toThrow(
      /price table changed.*--rerun/,
    );
    const rerun = await runEval({
      suite: worldsSuite(referenceChains.slice(1, 2)),
      out,
      limit: 2,
      rerun: true,
    });
    expect(rerun.summary.computed).toBe(4);
  });

  it('fails before any work on a missing brick directory, naming the chain', async () => {
    const out = join(root, 'missing');
    const suite = worldsSuite([
      { name: 'student', decomposer: join(root, 'no-such-brick'), solver: 'reference', mode: 'static' },
    ]);
    await expect(runEval({ suite, out })).rejects.toThrow(
      /brick '.*no-such-brick' \(chain "student"\): no brick directory/,
    );
    expect(existsSync(join(out, 'traces.jsonl'))).toBe(false);
  });
});
