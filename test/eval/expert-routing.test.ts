/**
 * Per-dataset expert routing of MoE decomposer bricks in `dnc eval` (src/eval/expert-routing.ts):
 * a brick whose routers are all zero ties every expert, so top-2 of 4 keeps experts 0 and 1 (shares
 * exactly ½, ½, 0, 0; entropy ln 4; utilization ½) on every dataset and layer; a random brick run by
 * the eval gets report.json `experts` (prompt and decomposition tokens), the markdown table and the
 * heatmap; the architecture reads back from the exported config.json (cosine router and a layer
 * subset included).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { measureExpertRouting } from '../../src/eval/expert-routing.js';
import { runEval } from '../../src/eval/runner.js';
import { parseSuite } from '../../src/eval/suite.js';
import { expertsPlotFileName } from '../../src/eval/write-reports.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { architectureFromMixtralConfig } from '../../src/student/moe-brick-architecture.js';
import { routerWeightName } from '../../src/student/moe-config.js';
import { generateExamples } from '../../src/worlds/index.js';
import { exportStudentBrick, mixture, nanoArchitecture } from '../student/moe-fixture.js';
import { temporaryDirectory } from '../student/hugging-face-fixtures.js';

let root: string;

beforeAll(async () => {
  root = await temporaryDirectory('dnc-expert-routing-');
});

describe('expert routing per eval dataset', () => {
  it('zero routers tie the experts: top-2 of 4 routes every token to experts 0 and 1', async () => {
    const architecture = await nanoArchitecture(mixture(4, 2));
    const weights = initializeWeights(architecture, 3);
    for (let layer = 0; layer < architecture.numHiddenLayers; layer += 1)
      weights.get(routerWeightName(layer))!.fill(0);
    const brick = await exportStudentBrick(architecture, weights);
    const datasets = [
      { name: 'hops', examples: generateExamples({ world: 'hops', split: 'test', n: 3, seed: 1 }) },
      { name: 'math', examples: generateExamples({ world: 'math', split: 'test', n: 5, seed: 1 }) },
    ];
    const chains = [
      { name: 'moe dynamic', decomposer: brick, solver: 'reference', mode: 'dynamic' as const },
    ];
    const [measured] = await measureExpertRouting({ chains, datasets, traces: [], cwd: root, rows: 2 });
    expect(measured).toMatchObject({
      decomposer: brick,
      experts: 4,
      topK: 2,
      router: 'softmax',
      tokens: 'prompt',
    });
    expect(measured.datasets.map((entry) => [entry.dataset, entry.examples])).toEqual([
      ['hops', 3],
      ['math', 5],
    ]);
    for (const entry of measured.datasets) {
      expect(entry.tokens).toBeGreaterThan(entry.examples * 10);
      expect(entry.layers.map((layer) => layer.layer)).toEqual([0, 1]);
      for (const layer of entry.layers) {
        expect(layer.shares).toEqual([0.5, 0.5, 0, 0]);
        expect(layer.entropy).toBeCloseTo(Math.log(4), 5);
        expect(layer.utilization).toBeCloseTo(0.5, 6);
      }
    }
  }, 60_000);

  it('reads the architecture back from an exported config.json (cosine router, a layer subset)', async () => {
    const architecture = await nanoArchitecture(
      mixture(4, 2, { router: 'cosine', routerDimension: 3, routerTemperature: 0.5, layers: [1] }),
    );
    const brick = await exportStudentBrick(architecture, initializeWeights(architecture, 2));
    const configFile = join(brick, 'config.json');
    const read = architectureFromMixtralConfig(JSON.parse(await readFile(configFile, 'utf8')), configFile);
    expect(read.moe).toEqual({ ...architecture.moe, zLoss: 0 });
    for (const key of [
      'hiddenSize',
      'intermediateSize',
      'numHiddenLayers',
      'numAttentionHeads',
      'numKeyValueHeads',
      'vocabSize',
      'ropeTheta',
      'rmsNormEps',
      'tieWordEmbeddings',
    ] as const)
      expect(read[key], key).toEqual(architecture[key]);
  }, 60_000);

  it('dnc eval writes expert shares per dataset into report.json, report.md and a heatmap', async () => {
    // A context that holds the whole prompt (the fixture tokenizer spells most characters alone).
    const architecture = { ...(await nanoArchitecture(mixture(4, 2))), maxPositionEmbeddings: 2048 };
    const brick = await exportStudentBrick(
      architecture,
      initializeWeights({ ...architecture, initializerRange: 0.2 }, 7),
    );
    const suite = parseSuite(
      {
        name: 'moe-routing',
        datasets: [
          { name: 'hops', world: 'hops', split: 'test', n: 3, seed: 4 },
          { name: 'math', world: 'math', split: 'test', n: 3, seed: 4 },
        ],
        chains: [
          { name: 'moe/ref', decomposer: brick, solver: 'reference', mode: 'static', maxSubquestions: 3 },
        ],
      },
      'test suite',
    );
    const out = join(root, 'eval');
    const { report, traces } = await runEval({ suite, out, resamples: 20 });
    expect(traces).toHaveLength(6);
    const [experts] = report.experts!;
    expect(experts.tokens).toBe('prompt+decomposition');
    for (const entry of experts.datasets)
      for (const layer of entry.layers) {
        expect(layer.shares.reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 5);
        expect(layer.entropy).toBeLessThanOrEqual(Math.log(4) + 1e-6);
      }
    // Without traces only the prompts are routed: fewer tokens than with the decompositions.
    const hops = {
      name: 'hops',
      examples: generateExamples({ world: 'hops', split: 'test', n: 3, seed: 4 }),
    };
    const [promptsOnly] = await measureExpertRouting({
      chains: suite.chains,
      datasets: [hops],
      traces: [],
      cwd: root,
    });
    expect(promptsOnly.datasets[0].tokens).toBeLessThan(experts.datasets[0].tokens);
    expect(promptsOnly.datasets[0].tokens).toBeGreaterThan(0);
    expect(promptsOnly.tokens).toBe('prompt');
    // Different data, different routing (random routers are not indifferent to the tokens).
    expect(experts.datasets[0].layers[0].shares).not.toEqual(experts.datasets[1].layers[0].shares);
    const written = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(written.experts).toEqual(report.experts);
    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    expect(markdown).toMatch(/## Expert routing \(mixture-of-experts decomposers\)/);
    expect(markdown).toMatch(
      /\| dataset \| tokens \| E0 \| E1 \| E2 \| E3 \| entropy \(nats\) \| utilization \|/,
    );
    expect(markdown).toMatch(/\| hops \| \d+ \| [\d.]+% \|/);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<figure id="experts-by-dataset">');
    const svg = readFileSync(join(out, expertsPlotFileName), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('mean over layers');
  }, 180_000);
});
