/**
 * What the eval's per-dataset expert routing (src/eval/expert-routing.ts) costs: a random-weight
 * MoE decomposer brick (default `moe-tiny`; speed does not depend on the weights, but a random
 * brick writes long decompositions, so more tokens are routed than a trained one would give) in a
 * static chain with the reference solver, on hops and math test examples. Each round runs the whole
 * eval (`runEval`, which includes the routing pass) in a fresh directory, then the routing pass
 * alone on that eval's traces; rounds alternate, so load from other processes hits both alike.
 * Prints one JSON object: median seconds of each and the routing pass's share of the eval.
 *
 *   npx tsx bench/eval-expert-routing.ts [--preset moe-tiny] [--examples 20] [--rounds 3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportBrick } from '../src/export/export-brick.js';
import { loadSuiteDatasets } from '../src/eval/datasets.js';
import { measureExpertRouting } from '../src/eval/expert-routing.js';
import { runEval } from '../src/eval/runner.js';
import { parseSuite } from '../src/eval/suite.js';
import { loadPreset } from '../src/student/config.js';
import { initializeWeights } from '../src/student/initialize.js';
import { makeTokenizer } from './decode-models.js';

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const { values: flags } = parseArgs({
  options: {
    preset: { type: 'string', default: 'moe-tiny' },
    examples: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
  },
});
const preset = await loadPreset(flags.preset!);
if (preset.architecture.moe === undefined)
  throw new Error(`--preset ${flags.preset} is not a mixture of experts`);
const examples = Number(flags.examples);
const root = await mkdtemp(join(tmpdir(), 'dnc-bench-expert-routing-'));
try {
  const tokenizerDirectory = join(root, 'tokenizer');
  await makeTokenizer(tokenizerDirectory, Math.min(preset.architecture.vocabSize, 2048));
  const brick = join(root, 'brick');
  await exportBrick({
    architecture: preset.architecture,
    weights: initializeWeights(preset.architecture, 1),
    tokenizerDirectory,
    role: 'decomposer',
    lineage: {
      dataHash: null,
      teacher: null,
      training: { note: 'random weights for the routing benchmark' },
    },
    metrics: {},
    outDirectory: brick,
  });
  const suite = parseSuite(
    {
      name: 'expert-routing-bench',
      datasets: [
        { name: 'hops', world: 'hops', split: 'test', n: examples, seed: 1 },
        { name: 'math', world: 'math', split: 'test', n: examples, seed: 1 },
      ],
      chains: [{ name: 'moe/reference', decomposer: brick, solver: 'reference', mode: 'static' }],
    },
    'bench suite',
  );
  const datasets = await loadSuiteDatasets(suite.datasets, { cwd: root });
  const evalSeconds: number[] = [];
  const routingSeconds: number[] = [];
  let tokens = 0;
  for (let round = 0; round < Number(flags.rounds); round += 1) {
    let started = performance.now();
    const { traces, report } = await runEval({ suite, out: join(root, `eval-${round}`), resamples: 20 });
    evalSeconds.push((performance.now() - started) / 1000);
    started = performance.now();
    await measureExpertRouting({ chains: suite.chains, datasets, traces, cwd: root });
    routingSeconds.push((performance.now() - started) / 1000);
    tokens = (report.experts ?? [])
      .flatMap((entry) => entry.datasets)
      .reduce((sum, entry) => sum + entry.tokens, 0);
  }
  const evalMedian = median(evalSeconds);
  const routingMedian = median(routingSeconds);
  console.log(
    JSON.stringify({
      preset: preset.name,
      examples: 2 * examples,
      routedTokens: tokens,
      evalSeconds: Number(evalMedian.toFixed(2)),
      routingPassSeconds: Number(routingMedian.toFixed(2)),
      routingShareOfEval: Number((routingMedian / evalMedian).toFixed(3)),
      rounds: evalSeconds.length,
    }),
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
