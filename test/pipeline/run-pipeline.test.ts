import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyNamesRecipe } from '../../src/decoding/copy-names/recipe.js';
import { runPipeline, type PipelineResult } from '../../src/pipeline/run-pipeline.js';
import { readRunManifest, stageNames } from '../../src/pipeline/run-manifest.js';
import { nanoPipeline, writePipeline } from './pipeline-fixture.js';

const quiet = { env: {} as NodeJS.ProcessEnv };
const directories: string[] = [];

afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function snapshot(run: string): Promise<Record<string, string>> {
  const files = [
    'collect/decompositions.jsonl',
    'collect/solutions.jsonl',
    'filter/train-decomposer.jsonl',
    'train/decomposer/model.safetensors',
    'export/solver/onnx/model.onnx',
    'eval/traces.jsonl',
    'eval/cache.jsonl',
  ];
  const contents: Record<string, string> = {};
  for (const file of files) {
    const path = join(run, file);
    contents[file] = `${(await stat(path)).mtimeMs}:${(await readFile(path)).toString('base64')}`;
  }
  return contents;
}

describe('dnc run on a nano pipeline', () => {
  let first: PipelineResult;
  let file: string;
  let runs: string;

  it('runs every stage end to end and writes run.json and the eval report', async () => {
    const written = await writePipeline(nanoPipeline('nano-end-to-end'));
    directories.push(written.directory);
    file = written.file;
    runs = join(written.directory, 'runs');
    first = await runPipeline({ file, runsDirectory: runs, ...quiet });
    for (const stage of stageNames) expect(first.stages[stage].action, stage).toBe('ran');
    expect(first.stages.train.units.decomposer?.summary.steps).toBe(3);
    expect(first.stages.collect.spentUsd).toBeGreaterThan(0); // the reference expert's simulated price
    const report = first.report!;
    expect(report.results).toHaveLength(10);
    const score = (chain: string, dataset: string) =>
      report.results.find((result) => result.chain === chain && result.dataset === dataset)?.score;
    expect(score('reference/reference', 'hops-test')).toBe(1);
    expect(score('reference/reference', 'math-ood')).toBe(1);
    const manifest = (await readRunManifest(join(first.run, 'run.json')))!;
    expect(manifest.name).toBe('nano-end-to-end');
    expect(manifest.pipelineHash).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.versions['onnxruntime-node']).toMatch(/^\d+\.\d+/);
    expect(manifest.seeds['student:decomposer']).toBe(1);
    for (const stage of stageNames) {
      expect(manifest.stages[stage].status, stage).toBe('done');
      expect(manifest.stages[stage].seconds, stage).toBeGreaterThanOrEqual(0);
    }
    expect(manifest.stages.export.units.decomposer?.outputs['onnx/model.onnx']).toBe(
      join(first.run, 'export/decomposer/onnx/model.onnx'),
    );
    expect(manifest.dollars.spentUsd).toBeCloseTo(
      first.stages.collect.spentUsd + first.stages.eval.spentUsd,
      9,
    );
  }, 60_000);

  it('skips every stage on a rerun: nothing recomputed, nothing spent', async () => {
    const before = await snapshot(first.run);
    const manifestBefore = (await readRunManifest(join(first.run, 'run.json')))!;
    const again = await runPipeline({ file, runsDirectory: runs, ...quiet });
    for (const stage of stageNames) {
      expect(again.stages[stage].action, stage).toBe('skipped');
      expect(again.stages[stage].spentUsd, stage).toBe(0);
    }
    expect(await snapshot(first.run)).toEqual(before);
    expect(again.report).toEqual(first.report);
    const manifestAfter = (await readRunManifest(join(first.run, 'run.json')))!;
    expect(manifestAfter.stages).toEqual(manifestBefore.stages);
    expect(manifestAfter.dollars).toEqual(manifestBefore.dollars);
  }, 30_000);

  /** Reruns the pipeline with `collect.filter: "all"` and `edit` applied to its file. */
  async function rerunWith(edit: (pipeline: Record<string, unknown>) => void): Promise<PipelineResult> {
    const pipeline = nanoPipeline('nano-end-to-end');
    (pipeline.collect as Record<string, unknown>).filter = 'all';
    edit(pipeline);
    await writeFile(file, JSON.stringify(pipeline));
    return runPipeline({ file, runsDirectory: runs, ...quiet });
  }

  it('reruns only what a changed setting reaches, by content hash', async () => {
    // With the reference teacher every chain is correct, so `all` keeps the same training files:
    // the filter stage reruns, and training sees unchanged inputs and is skipped.
    const changed = await rerunWith(() => undefined);
    expect(changed.stages.data.action).toBe('skipped');
    expect(changed.stages.collect.action).toBe('skipped');
    expect(changed.stages.filter.action).toBe('ran');
    expect(changed.stages.train.action).toBe('skipped');
    expect(changed.stages.eval.action).toBe('skipped');
  }, 30_000);

  it("a student's decoding recipe re-exports its brick without retraining it", async () => {
    const changed = await rerunWith((pipeline) => {
      (pipeline.students as Record<string, unknown>[])[0]!.decoding = {
        recipe: { id: 'copy-names', version: copyNamesRecipe.version },
        copyBias: 2,
        copyConstraint: false,
      };
    });
    expect(changed.stages.train.action).toBe('skipped');
    expect(changed.stages.export.action).toBe('ran');
    expect(changed.stages.eval.action).toBe('ran');
    // The export stage teacher-forced the student's training decompositions through the recipe.
    expect(changed.stages.export.units.decomposer!.summary.decodingCheck).toMatch(
      /^copy-names@\d+: 0 of \d+ training decompositions rejected$/,
    );
    const manifest = JSON.parse(await readFile(join(first.run, 'export/decomposer/brick.json'), 'utf8'));
    expect(manifest.decoding).toMatchObject({
      recipe: { id: 'copy-names', version: copyNamesRecipe.version },
      ...copyNamesRecipe.defaults,
      copyBias: 2,
      copyConstraint: false,
    });
  }, 30_000);

  it('reruns a stage whose output was damaged, and --from reruns that stage and the later ones', async () => {
    await rm(join(first.run, 'eval/report.json'));
    const repaired = await runPipeline({ file, runsDirectory: runs, ...quiet });
    expect(repaired.stages.export.action).toBe('skipped');
    expect(repaired.stages.eval.action).toBe('ran');
    expect(repaired.stages.eval.spentUsd).toBe(0); // every brick call served by the eval cache
    expect(repaired.report?.results).toHaveLength(10);
    const fromExport = await runPipeline({ file, runsDirectory: runs, from: 'export', ...quiet });
    expect(fromExport.stages.train.action).toBe('skipped');
    expect(fromExport.stages.export.action).toBe('ran');
    expect(fromExport.stages.eval.action).toBe('ran');
  }, 30_000);
});
