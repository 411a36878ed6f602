import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors/user-error.js';
import { loadSuiteDatasets } from '../../src/eval/datasets.js';
import { loadSuite, parseSuite } from '../../src/eval/suite.js';
import { repoRoot } from '../helpers/cli.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dnc-eval-suite-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const chain = { name: 'ref', decomposer: 'reference', solver: 'reference', mode: 'static' };
const world = { name: 'hops', world: 'hops', split: 'test', n: 3, seed: 1 };

function errorOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('eval suites', () => {
  it('accepts every shipped suite in eval/', async () => {
    const files = (await readdir(join(repoRoot, 'eval'))).filter((file) => file.endsWith('.json'));
    expect(files).toContain('worlds-reference.json');
    for (const file of files) {
      const suite = await loadSuite(join(repoRoot, 'eval', file));
      expect(suite.chains.length).toBeGreaterThan(0);
    }
  });

  it('names the file and the key of an unknown or invalid field', () => {
    const unknown = errorOf(() =>
      parseSuite({ name: 's', datasets: [world], chains: [chain], limt: 3 }, 'x.json'),
    );
    expect(unknown).toMatch(/^suite x\.json: .*Unrecognized key: "limt"/);
    const badWorld = errorOf(() =>
      parseSuite({ name: 's', datasets: [{ ...world, split: 'dev' }], chains: [chain] }, 'x.json'),
    );
    expect(badWorld).toContain('datasets.0.split');
    const neither = errorOf(() =>
      parseSuite({ name: 's', datasets: [{ name: 'd' }], chains: [chain] }, 'x.json'),
    );
    expect(neither).toContain('datasets.0: a dataset is `{ "name", "file": PATH }`');
  });

  it('rejects bad chains: missing decomposer, unknown provider, gold as solver, duplicate names', () => {
    const missing = errorOf(() =>
      parseSuite(
        { name: 's', datasets: [world], chains: [{ name: 'c', solver: 'reference', mode: 'dynamic' }] },
        'x',
      ),
    );
    expect(missing).toContain('chains.0.decomposer');
    const provider = errorOf(() =>
      parseSuite({ name: 's', datasets: [world], chains: [{ ...chain, solver: 'anthropic:claude' }] }, 'x'),
    );
    expect(provider).toMatch(/chains\.0\.solver: .*unknown brick provider 'anthropic'/);
    const gold = errorOf(() =>
      parseSuite({ name: 's', datasets: [world], chains: [{ ...chain, solver: 'gold' }] }, 'x'),
    );
    expect(gold).toMatch(/chains\.0\.solver: 'gold' is a decomposer only/);
    const duplicate = errorOf(() =>
      parseSuite({ name: 's', datasets: [world, world], chains: [chain, chain] }, 'x'),
    );
    expect(duplicate).toContain('two datasets are named "hops"');
    expect(duplicate).toContain('two chains are named "ref"');
  });

  it('says when the suite file is missing or not JSON', async () => {
    await expect(loadSuite(join(root, 'nope.json'))).rejects.toThrow(/suite file not found: .*nope\.json/);
    await writeFile(join(root, 'broken.json'), '{ "name": ');
    await expect(loadSuite(join(root, 'broken.json'))).rejects.toThrow(/broken\.json: invalid JSON/);
  });
});

describe('suite datasets', () => {
  it('generates world splits deterministically and keeps the first `limit` examples', async () => {
    const suite = parseSuite(
      { name: 's', datasets: [world, { ...world, name: 'math', world: 'math' }], chains: [chain] },
      'x',
    );
    const [hops, math] = await loadSuiteDatasets(suite.datasets, { limit: 2 });
    expect(hops.examples.map((example) => example.id)).toEqual(['hops-test-1-0', 'hops-test-1-1']);
    expect(math.examples).toHaveLength(2);
    const again = await loadSuiteDatasets(suite.datasets);
    expect(again[0].examples.slice(0, 2)).toEqual(hops.examples);
  });

  it('reads a file dataset and names the suite key and file when it is missing or invalid', async () => {
    const file = join(root, 'examples.jsonl');
    const example = { id: 'a', dataset: 'mine', question: 'Q?', answer: '1', answerType: 'number' };
    await writeFile(file, `${JSON.stringify(example)}\n`);
    const [loaded] = await loadSuiteDatasets([{ name: 'mine', file }]);
    expect(loaded.examples).toEqual([example]);
    await expect(
      loadSuiteDatasets([{ name: 'gone', file: join(root, 'gone.jsonl') }], { suiteFile: 's.json' }),
    ).rejects.toThrow(/suite s\.json: datasets\[0\] "gone": .*not found: .*gone\.jsonl/);
    await writeFile(
      file,
      `${JSON.stringify(example)}\n${JSON.stringify({ ...example, answerType: 'float' })}\n`,
    );
    await expect(loadSuiteDatasets([{ name: 'mine', file }])).rejects.toThrow(
      /datasets\[0\] "mine": .*examples\.jsonl:2: answerType/,
    );
    await writeFile(file, `${JSON.stringify(example)}\n${JSON.stringify(example)}\n`);
    await expect(loadSuiteDatasets([{ name: 'mine', file }])).rejects.toThrow(/two examples have id "a"/);
  });
});
