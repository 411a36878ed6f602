import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyNamesRecipe } from '../../src/decoding/copy-names/recipe.js';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { brickManifestSchema } from '../../src/bricks/brick-manifest.js';
import { readCheckpoint } from '../../src/export/checkpoint.js';
import { exportBrick, type ExportBrickInput } from '../../src/export/export-brick.js';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { loadBrick } from '../../src/runtime/bricks/registry.js';
import { countParameters } from '../../src/student/config.js';
import { writeSafetensors } from '../../src/student/safetensors.js';
import { studentWeightShapes } from '../../src/student/initialize.js';
import { runCli } from '../helpers/cli.js';
import { makeNanoBrick, makeTokenizer, type BrickFixture } from './brick-fixture.js';

let fixture: BrickFixture;

beforeAll(async () => {
  fixture = await makeNanoBrick('decomposer');
});

async function brokenCopy(name: string, damage: (directory: string) => Promise<void>): Promise<string> {
  const directory = join(fixture.root, name);
  await cp(fixture.brickDirectory, directory, { recursive: true });
  await damage(directory);
  return directory;
}

/** Exports the fixture's nano weights again as a decomposer brick in `out`, with `extra` inputs. */
function exportDecomposer(
  out: string,
  extra: Pick<ExportBrickInput, 'lineage' | 'metrics'> & Partial<ExportBrickInput>,
): ReturnType<typeof exportBrick> {
  return exportBrick({
    architecture: fixture.architecture,
    weights: fixture.weights,
    tokenizerDirectory: fixture.tokenizerDirectory,
    role: 'decomposer',
    outDirectory: out,
    ...extra,
  });
}

describe('exportBrick', () => {
  it('writes the Hugging Face ONNX layout with a valid brick.json and nothing left over', async () => {
    const files = (await readdir(fixture.brickDirectory, { recursive: true })).sort();
    expect(files).toEqual([
      'brick.json',
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'onnx',
      'onnx/model.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect((await readdir(fixture.root)).filter((name) => name.includes('staging'))).toEqual([]);
    const manifest = brickManifestSchema.parse(
      JSON.parse(await readFile(join(fixture.brickDirectory, 'brick.json'), 'utf8')),
    );
    expect(manifest).toMatchObject({
      role: 'decomposer',
      kind: 'onnx',
      parameters: countParameters(fixture.architecture),
    });
    expect(manifest.lineage.teacher).toBe('reference');
    const config = JSON.parse(await readFile(join(fixture.brickDirectory, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'llama',
      num_hidden_layers: 2,
      num_key_value_heads: 2,
      vocab_size: 512,
    });
    const generation = JSON.parse(
      await readFile(join(fixture.brickDirectory, 'generation_config.json'), 'utf8'),
    );
    expect(generation.eos_token_id).toEqual([1, 6]);
    const template = JSON.parse(
      await readFile(join(fixture.brickDirectory, 'tokenizer_config.json'), 'utf8'),
    );
    expect(template.chat_template).toContain('<|assistant|>');
  });

  it('caps generation at 1.5x the longest trained answer (generation_config max_new_tokens)', async () => {
    const capped = join(fixture.root, 'capped');
    await exportDecomposer(capped, {
      lineage: { dataHash: 'sha256:test', teacher: 'reference', training: { preset: 'nano', steps: 0 } },
      metrics: { longestAnswerTokens: 10 },
    });
    const generation = JSON.parse(await readFile(join(capped, 'generation_config.json'), 'utf8'));
    expect(generation.max_new_tokens).toBe(23);
    const prompt = [{ role: 'user' as const, content: 'How many cities are there?' }];
    const free = await OnnxBrick.load(fixture.brickDirectory, fixture.brickDirectory);
    const limited = await OnnxBrick.load(capped, capped);
    try {
      // Random weights rarely write the end token: uncapped, the answer runs past the cap.
      expect((await free.complete(prompt)).tokens.length).toBeGreaterThan(23);
      expect((await limited.complete(prompt)).tokens.length).toBe(23);
    } finally {
      await free.close();
      await limited.close();
    }
  });

  it('decodes plainly unless a recipe is turned on; a named recipe is recorded with its defaults', async () => {
    const manifest = JSON.parse(await readFile(join(fixture.brickDirectory, 'brick.json'), 'utf8'));
    expect(manifest.decoding).toBeUndefined();
    const out = join(fixture.root, 'with-recipe');
    await exportDecomposer(out, {
      lineage: { dataHash: null, teacher: null, training: {} },
      metrics: {},
      decoding: { recipe: { id: 'copy-names', version: copyNamesRecipe.version } },
    });
    const { decoding } = JSON.parse(await readFile(join(out, 'brick.json'), 'utf8'));
    expect(decoding).toEqual({
      recipe: { id: 'copy-names', version: copyNamesRecipe.version },
      ...copyNamesRecipe.defaults,
    });
  });

  it("copies the trainer's known terms and word associations into a decomposer's decoding", async () => {
    const out = join(fixture.root, 'with-associations');
    await exportDecomposer(out, {
      lineage: { dataHash: null, teacher: null, training: {} },
      metrics: {},
      answerTerms: ['CEO'],
      answerAssociations: { 'fewer inhabitants': ['smaller'] },
      decoding: { recipe: { id: 'copy-names', version: copyNamesRecipe.version } },
    });
    const { decoding } = JSON.parse(await readFile(join(out, 'brick.json'), 'utf8'));
    expect(decoding.knownTerms).toEqual(['CEO']);
    expect(decoding.associations).toEqual({ 'fewer inhabitants': ['smaller'] });
    const brick = await OnnxBrick.load(out, 'with-associations');
    await brick.close();
  });

  it('refuses a manifest with an unknown role', () => {
    const parsed = brickManifestSchema.safeParse({
      specificationVersion: 'v1',
      role: 'critic',
      kind: 'onnx',
    });
    expect(parsed.success).toBe(false);
  });
});

describe('dnc export', () => {
  it('exports a checkpoint directory, replacing an existing brick atomically', async () => {
    const checkpoint = join(fixture.root, 'checkpoint');
    await mkdir(checkpoint);
    const tensors = new Map(
      [...studentWeightShapes(fixture.architecture)].map(([name, shape]) => [
        name,
        { shape, data: fixture.weights.get(name)! },
      ]),
    );
    await writeSafetensors(join(checkpoint, 'model.safetensors'), tensors);
    await writeFile(
      join(checkpoint, 'student.json'),
      JSON.stringify({ role: 'solver', architecture: fixture.architecture }),
    );
    await cp(join(fixture.tokenizerDirectory, 'tokenizer.json'), join(checkpoint, 'tokenizer.json'));
    await cp(
      join(fixture.tokenizerDirectory, 'tokenizer_config.json'),
      join(checkpoint, 'tokenizer_config.json'),
    );
    expect((await readCheckpoint(checkpoint)).weights.size).toBe(tensors.size);
    const out = join(fixture.root, 'from-cli');
    await mkdir(out);
    await writeFile(join(out, 'stale.txt'), 'old brick');
    const result = await runCli(['export', checkpoint, '--out', out, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      out,
      role: 'solver',
      parameters: countParameters(fixture.architecture),
    });
    expect(await readdir(out)).not.toContain('stale.txt');
    // A solver answers from what it learned: no copy decoding unless asked for.
    expect(JSON.parse(await readFile(join(out, 'brick.json'), 'utf8')).decoding).toBeUndefined();
    const tuned = join(fixture.root, 'tuned');
    const flagged = await runCli([
      'export',
      checkpoint,
      '--out',
      tuned,
      '--decoding',
      'copy-names',
      '--copy-bias',
      '3',
      '--copy-scope',
      'any',
      '--no-name-order',
    ]);
    expect(flagged.code).toBe(0);
    expect(JSON.parse(await readFile(join(tuned, 'brick.json'), 'utf8')).decoding).toEqual({
      recipe: { id: 'copy-names', version: copyNamesRecipe.version },
      ...copyNamesRecipe.defaults,
      copyBias: 3,
      copyScope: 'any',
      nameOrder: false,
    });
    const bad = await runCli([
      'export',
      checkpoint,
      '--out',
      tuned,
      '--decoding',
      'copy-names',
      '--copy-bias',
      '-1',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/invalid decoding flags: copyBias: .*--copy-bias takes a number ≥ 0/);
    const unnamed = await runCli(['export', checkpoint, '--out', tuned, '--copy-bias', '3']);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toMatch(/copyBias tune a decoding recipe; turn one on with --decoding copy-names/);
    const unknown = await runCli(['export', checkpoint, '--out', tuned, '--decoding', 'copy-everything']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /--decoding copy-everything is not a decoding recipe; use copy-names or none/,
    );
    const brick = await loadBrick(out);
    expect(brick.kind).toBe('onnx');
    expect(brick.solve).toBeDefined();
    expect(brick.decompose).toBeUndefined();
    await brick.close?.();
  });

  it('names the missing student.json of a directory that is not a checkpoint', async () => {
    await expect(readCheckpoint(fixture.tokenizerDirectory)).rejects.toThrow(
      /student\.json.*dnc train --out DIR/,
    );
  });
});

describe('a broken brick fails at load, naming the file and the fix', () => {
  it('missing onnx/model.onnx', async () => {
    const directory = await brokenCopy('no-model', (path) => rm(join(path, 'onnx/model.onnx')));
    await expect(loadBrick(directory)).rejects.toThrow(/onnx\/model\.onnx is missing.*dnc export/);
  });

  it('missing brick.json', async () => {
    const directory = await brokenCopy('no-manifest', (path) => rm(join(path, 'brick.json')));
    await expect(loadBrick(directory)).rejects.toThrow(/brick\.json is missing.*re-export/);
  });

  it('an ONNX model without the KV-cache inputs', async () => {
    const directory = await brokenCopy('no-cache', async (path) => {
      const g = new Graph('plain');
      const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
      g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
      const table = g.constant('float32', [512, 4], new Float32Array(2048));
      g.output(
        g.matmul(g.gather(table, ids, 0), g.constant('float32', [4, 512], new Float32Array(2048))),
        'logits',
      );
      await writeFile(join(path, 'onnx/model.onnx'), serializeGraph(g));
    });
    await expect(loadBrick(directory)).rejects.toThrow(
      /model\.onnx is not a decoder.*no input 'past_key_values\.0\.key'/,
    );
  });

  it('config.json with the wrong number of layers', async () => {
    const directory = await brokenCopy('wrong-layers', async (path) => {
      const config = JSON.parse(await readFile(join(path, 'config.json'), 'utf8'));
      await writeFile(join(path, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 3 }));
    });
    await expect(loadBrick(directory)).rejects.toThrow(
      /no input 'past_key_values\.2\.key' \(config\.json says 3 layers\)/,
    );
  });

  it('a tokenizer larger than the model vocabulary', async () => {
    const directory = await brokenCopy('wrong-tokenizer', (path) => makeTokenizer(path, 600, 256));
    await expect(loadBrick(directory)).rejects.toThrow(/tokenizer\.json has 600 tokens.*vocab_size 512/);
  });
});
