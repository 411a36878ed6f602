import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { countParameters } from '../../src/student/config.js';
import {
  loadPretrainedCheckpoint,
  type PretrainedCheckpoint,
} from '../../src/student/hugging-face-checkpoint.js';
import { declareLlamaParameters, llamaForward } from '../../src/student/llama-graph.js';
import { referenceForward } from '../../src/student/reference-forward.js';
import { encodeSafetensors } from '../../src/student/safetensors.js';
import {
  checkpointCases,
  chatMlTemplate,
  encodeTyped,
  fixtureVocabSize,
  floatToBfloat16,
  floatToHalf,
  randomWeights,
  temporaryDirectory,
  writeCheckpoint,
  type CheckpointCase,
} from './hugging-face-fixtures.js';
import { relativeDifference } from './oracle-helpers.js';

const tokens = (count: number, seed: number): number[] =>
  Array.from({ length: count }, (_, index) => (index * 37 + seed * 101 + 11) % fixtureVocabSize);

const bfloat16Value = (value: number): number =>
  new Float32Array(new Uint32Array([floatToBfloat16(value) << 16]).buffer)[0];

function halfValue(value: number): number {
  const bits = floatToHalf(value);
  const exponent = (bits >> 10) & 0x1f;
  const magnitude =
    exponent === 0 ? (bits & 0x3ff) * 2 ** -24 : (1 + (bits & 0x3ff) / 1024) * 2 ** (exponent - 15);
  return bits & 0x8000 ? -magnitude : magnitude;
}

/** The training-mode graph (parameters as inputs, static length) run once on a batch. */
async function trainingGraphLogits(
  checkpoint: PretrainedCheckpoint,
  rows: number[][],
): Promise<Float32Array> {
  const { architecture, weights } = checkpoint;
  const [batch, time] = [rows.length, rows[0].length];
  const g = new Graph('training_forward');
  const parameters = declareLlamaParameters(g, architecture);
  const inputIds = g.input('input_ids', 'int64', [batch, time]);
  const { logits } = llamaForward(g, architecture, parameters, { inputIds });
  g.output(logits!, 'logits');
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [batch, time]),
  };
  for (const [name, data] of weights)
    feeds[name] = new ort.Tensor('float32', data, parameters.get(name)!.shape as number[]);
  return (await session.run(feeds)).logits.data as Float32Array;
}

describe.each(checkpointCases)('pretrained checkpoint $name', (testCase: CheckpointCase) => {
  let written: Map<string, { shape: number[]; data: Float32Array }>;
  let checkpoint: PretrainedCheckpoint;

  beforeAll(async () => {
    const directory = await temporaryDirectory('dnc-hf-');
    written = await writeCheckpoint(directory, testCase);
    checkpoint = await loadPretrainedCheckpoint(directory);
  });

  it('loads every tensor, upcast to float32 from its dtype', () => {
    expect([...checkpoint.weights.keys()].sort()).toEqual([...written.keys()].sort());
    const round =
      testCase.dtype === 'F32' ? Math.fround : testCase.dtype === 'BF16' ? bfloat16Value : halfValue;
    for (const [name, tensor] of written) {
      const loaded = checkpoint.weights.get(name)!;
      expect(loaded).toBeInstanceOf(Float32Array);
      const wrong = tensor.data.findIndex((value, index) => loaded[index] !== Math.fround(round(value)));
      expect(wrong, `${name}: first value that differs`).toBe(-1);
    }
    const parameters = [...written.values()].reduce((sum, tensor) => sum + tensor.data.length, 0);
    expect(countParameters(checkpoint.architecture)).toBe(parameters);
  });

  it('describes the architecture as config.json does', () => {
    const { architecture, huggingFaceConfig } = checkpoint;
    expect(architecture.modelType).toBe(testCase.config.model_type);
    expect(architecture.tieWordEmbeddings).toBe(testCase.config.tie_word_embeddings);
    expect(huggingFaceConfig).toEqual(testCase.config);
    expect(architecture.huggingFaceConfig).toEqual(testCase.config);
    expect(checkpoint.chatTemplate).toBe(chatMlTemplate);
  });

  it("gives the reference forward's logits from the training graph", async () => {
    const rows = [tokens(11, 1), tokens(11, 2)];
    const output = await trainingGraphLogits(checkpoint, rows);
    const size = 11 * fixtureVocabSize;
    rows.forEach((row, index) => {
      const expected = referenceForward(checkpoint.architecture, checkpoint.weights, row);
      expect(relativeDifference(output.subarray(index * size, (index + 1) * size), expected)).toBeLessThan(
        1e-5,
      );
    });
  });
});

describe('features change the logits (the tests above would catch a feature left out)', () => {
  it('llama3 rope scaling and q/k/v biases each change the logits', async () => {
    const byName = new Map(checkpointCases.map((testCase) => [testCase.name, testCase]));
    const sequence = tokens(40, 3);
    for (const [name, drop] of [
      [
        'llama3-scaled-untied-bf16-sharded',
        (a: PretrainedCheckpoint['architecture']) => ({ ...a, ropeScaling: undefined }),
      ],
      ['qwen2-biases-bf16', (a: PretrainedCheckpoint['architecture']) => ({ ...a, biasedProjections: [] })],
    ] as const) {
      const directory = await temporaryDirectory('dnc-hf-');
      await writeCheckpoint(directory, byName.get(name)!);
      const checkpoint = await loadPretrainedCheckpoint(directory);
      const weights = new Map([...checkpoint.weights].filter(([key]) => !key.endsWith('.bias')));
      const full = referenceForward(checkpoint.architecture, checkpoint.weights, sequence);
      const without = referenceForward(drop(checkpoint.architecture), weights, sequence);
      expect(relativeDifference(without, full), name).toBeGreaterThan(1e-3);
    }
  });
});

describe('loadPretrainedCheckpoint errors (one line each, before any training)', () => {
  const base = checkpointCases[0];

  async function checkpointWith(
    change: (directory: string) => Promise<void>,
    testCase = base,
  ): Promise<string> {
    const directory = await temporaryDirectory('dnc-hf-bad-');
    await writeCheckpoint(directory, testCase);
    await change(directory);
    return directory;
  }

  async function expectOneLine(directory: string, pattern: RegExp, options = {}): Promise<void> {
    const error = await loadPretrainedCheckpoint(directory, options).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error, 'should fail').toBeInstanceOf(Error);
    expect(error!.message).toMatch(pattern);
    expect(error!.message).not.toContain('\n');
    expect(error!.name).toBe('UserError');
  }

  const rewriteConfig = (change: Record<string, unknown>) => async (directory: string) =>
    writeFile(join(directory, 'config.json'), JSON.stringify({ ...base.config, ...change }));

  it('names an unsupported model_type and lists the supported ones', async () => {
    await expectOneLine(
      await checkpointWith(rewriteConfig({ model_type: 'gemma2' })),
      /unsupported model_type 'gemma2'; dnc supports llama, mistral, qwen2, qwen3/,
    );
  });

  it('names an unsupported rope_scaling', async () => {
    await expectOneLine(
      await checkpointWith(rewriteConfig({ rope_scaling: { rope_type: 'yarn', factor: 4 } })),
      /unsupported rope_scaling type 'yarn'; dnc supports llama3/,
    );
    await expectOneLine(
      await checkpointWith(rewriteConfig({ rope_scaling: { type: 'linear', factor: 2 } })),
      /unsupported rope_scaling type 'linear'/,
    );
  });

  it('names a missing tensor', async () => {
    const directory = await checkpointWith(async (where) => {
      const tensors = randomWeights(base.config, 5);
      tensors.delete('model.layers.1.mlp.up_proj.weight');
      await writeFile(join(where, 'model.safetensors'), encodeTyped(tensors, 'F32'));
    });
    await expectOneLine(directory, /lack the tensor model\.layers\.1\.mlp\.up_proj\.weight/);
  });

  it('names a missing shard', async () => {
    const sharded = checkpointCases.find((testCase) => testCase.shards > 1)!;
    const directory = await checkpointWith(
      (where) => rm(join(where, `model-00002-of-0000${sharded.shards}.safetensors`)),
      sharded,
    );
    await expectOneLine(
      directory,
      /the shard model-00002-of-0000\d\.safetensors named by .*index\.json is missing/,
    );
  });

  it('names a tensor whose shape disagrees with config.json, with both shapes', async () => {
    const directory = await checkpointWith(async (where) => {
      const tensors = randomWeights(base.config, 5);
      tensors.set('model.layers.0.self_attn.k_proj.weight', { shape: [8, 32], data: new Float32Array(256) });
      await writeFile(join(where, 'model.safetensors'), encodeSafetensors(tensors));
    });
    await expectOneLine(
      directory,
      /tensor model\.layers\.0\.self_attn\.k_proj\.weight has shape \[8, 32\] but config\.json implies \[16, 32\]/,
    );
  });

  it('names a tensor the architecture does not have', async () => {
    const directory = await checkpointWith(async (where) => {
      const tensors = randomWeights(base.config, 5);
      tensors.set('model.layers.0.self_attn.q_proj.bias', { shape: [32], data: new Float32Array(32) });
      await writeFile(join(where, 'model.safetensors'), encodeSafetensors(tensors));
    });
    await expectOneLine(
      directory,
      /holds model\.layers\.0\.self_attn\.q_proj\.bias that config\.json's llama/,
    );
  });

  it('asks for --chat-template when the tokenizer has none, and takes one from there', async () => {
    const directory = await checkpointWith(async (where) => {
      const config = JSON.parse(await readFile(join(where, 'tokenizer_config.json'), 'utf8'));
      delete config.chat_template;
      await writeFile(join(where, 'tokenizer_config.json'), JSON.stringify(config));
    });
    await expectOneLine(directory, /has no chat template .*; pass one with --chat-template FILE/);
    const templateFile = join(directory, 'template.jinja');
    await writeFile(templateFile, chatMlTemplate);
    const loaded = await loadPretrainedCheckpoint(directory, { chatTemplateFile: templateFile });
    expect(loaded.chatTemplate).toBe(chatMlTemplate);
    expect(loaded.tokenizerFiles.tokenizerConfig.chat_template).toBe(chatMlTemplate);
    await writeFile(templateFile, '{% for message in messages %}{{ message.content }');
    await expectOneLine(directory, /template\.jinja: the chat template does not parse/, {
      chatTemplateFile: templateFile,
    });
  });

  it('refuses a tokenizer_config.json whose eos_token is not a token', async () => {
    const directory = await checkpointWith(async (where) => {
      const config = JSON.parse(await readFile(join(where, 'tokenizer_config.json'), 'utf8'));
      await writeFile(join(where, 'tokenizer_config.json'), JSON.stringify({ ...config, eos_token: '</s>' }));
    });
    await expectOneLine(directory, /eos_token "<\/s>" is not a token of tokenizer\.json/);
  });

  it('refuses a tokenizer with ids beyond vocab_size', async () => {
    await expectOneLine(
      await checkpointWith(rewriteConfig({ vocab_size: 100 })),
      /has token id \d+ but config\.json's vocab_size is 100/,
    );
  });
});
