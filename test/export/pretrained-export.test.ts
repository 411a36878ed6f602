/**
 * Merged export of students built on pretrained Hugging Face checkpoints (random weights, every
 * supported model_type): the brick keeps the base's config.json, tokenizer and chat template, its
 * ONNX decoder with KV cache gives the reference forward's logits, dnc's runtime loads it, and
 * transformers.js loads it as the base architecture and agrees on greedy tokens.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportBrick } from '../../src/export/export-brick.js';
import { readBrickManifest } from '../../src/bricks/brick-manifest.js';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { OnnxDecoderModel } from '../../src/runtime/onnx/onnx-decoder.js';
import {
  loadPretrainedCheckpoint,
  type PretrainedCheckpoint,
} from '../../src/student/hugging-face-checkpoint.js';
import { referenceForward } from '../../src/student/reference-forward.js';
import { readSafetensors } from '../../src/student/safetensors.js';
import {
  chatMlTemplate,
  checkpointCases,
  fixtureVocabSize,
  temporaryDirectory,
  writeCheckpoint,
  type CheckpointCase,
} from '../student/hugging-face-fixtures.js';
import { relativeDifference } from '../student/oracle-helpers.js';

const tokens = (count: number, seed: number): number[] =>
  Array.from({ length: count }, (_, index) => (index * 41 + seed * 97 + 5) % fixtureVocabSize);

const int64 = (values: readonly number[]): BigInt64Array => BigInt64Array.from(values.map(BigInt));

// The first case once more with its weights in onnx/model.onnx_data (as models over 1 GiB are exported).
const exportCases = [
  ...checkpointCases.map((testCase) => ({ ...testCase, external: false })),
  { ...checkpointCases[0], name: `${checkpointCases[0].name} (external data)`, external: true },
];

describe.each(exportCases)('merged export of $name', (testCase: CheckpointCase & { external: boolean }) => {
  let checkpoint: PretrainedCheckpoint;
  let brickDirectory: string;

  beforeAll(async () => {
    const root = await temporaryDirectory('dnc-pretrained-export-');
    const baseDirectory = join(root, 'base');
    await writeCheckpoint(baseDirectory, testCase, 11);
    checkpoint = await loadPretrainedCheckpoint(baseDirectory);
    brickDirectory = join(root, 'brick');
    await exportBrick({
      architecture: checkpoint.architecture,
      weights: checkpoint.weights,
      tokenizerDirectory: baseDirectory,
      role: 'decomposer',
      lineage: { dataHash: null, teacher: 'gold', training: { base: baseDirectory } },
      metrics: {},
      outDirectory: brickDirectory,
      externalDataAbove: testCase.external ? 0 : undefined,
    });
  });

  it("writes the base's config.json, tokenizer and chat template, and every tensor under its HF name", async () => {
    const config = JSON.parse(await readFile(join(brickDirectory, 'config.json'), 'utf8'));
    const { torch_dtype: _dtype, 'transformers.js_config': jsConfig, ...rest } = config;
    const { torch_dtype: _baseDtype, ...baseRest } = testCase.config;
    expect(rest).toEqual(baseRest);
    expect(config.torch_dtype).toBe('float32');
    expect(jsConfig).toEqual({ dtype: 'fp32', use_external_data_format: testCase.external });
    const dataFile = await stat(join(brickDirectory, 'onnx', 'model.onnx_data')).catch(() => undefined);
    expect(dataFile !== undefined).toBe(testCase.external);
    const modelFile = await stat(join(brickDirectory, 'onnx', 'model.onnx'));
    const weightBytes = [...checkpoint.weights.values()].reduce((sum, data) => sum + data.byteLength, 0);
    expect(modelFile.size < weightBytes).toBe(testCase.external);
    const tokenizerConfig = JSON.parse(await readFile(join(brickDirectory, 'tokenizer_config.json'), 'utf8'));
    expect(tokenizerConfig.chat_template).toBe(chatMlTemplate);
    expect(tokenizerConfig.eos_token).toBe('<|im_end|>');
    const generation = JSON.parse(await readFile(join(brickDirectory, 'generation_config.json'), 'utf8'));
    expect(generation.eos_token_id).toEqual([checkpoint.tokenizer.eosTokenId]); // <|im_end|> ends turns too
    const { tensors } = await readSafetensors(join(brickDirectory, 'model.safetensors'));
    expect([...tensors.keys()].sort()).toEqual([...checkpoint.weights.keys()].sort());
    for (const [name, data] of checkpoint.weights) expect(tensors.get(name)!.data, name).toEqual(data);
    const manifest = await readBrickManifest(brickDirectory);
    expect(manifest.promptFormat.chat).toBe('base-template');
    expect(manifest.decoding).toBeUndefined(); // copy/name helpers off for a pretrained base
  });

  it('its ONNX decoder (prefill, then cached steps) gives the reference logits', async () => {
    const decoder = await OnnxDecoderModel.load(brickDirectory);
    try {
      const sequence = tokens(20, 2);
      const expected = referenceForward(checkpoint.architecture, checkpoint.weights, sequence);
      const V = fixtureVocabSize;
      const prefill = 13;
      let output = await decoder.forward(
        {
          inputIds: int64(sequence.slice(0, prefill)),
          attentionMask: int64(Array(prefill).fill(1)),
          positionIds: int64([...Array(prefill).keys()]),
          batchSize: 1,
          length: prefill,
          pastLength: 0,
        },
        undefined,
      );
      // The decoder fetches the last position's logits only (new-position outputs).
      expect(decoder.fullOutputsReason).toBeUndefined();
      expect(decoder.cacheRoom).toBe(true);
      const prefilled =
        output.logits.length === V
          ? expected.subarray((prefill - 1) * V, prefill * V)
          : expected.subarray(0, prefill * V);
      expect(relativeDifference(output.logits, prefilled)).toBeLessThan(1e-5);
      for (let position = prefill; position < sequence.length; position += 1) {
        output = await decoder.forward(
          {
            inputIds: int64([sequence[position]]),
            attentionMask: int64(Array(position + 1).fill(1)),
            positionIds: int64([position]),
            batchSize: 1,
            length: 1,
            pastLength: position,
          },
          output.cache,
        );
        const row = expected.subarray(position * V, (position + 1) * V);
        expect(relativeDifference(output.logits, row), `position ${position}`).toBeLessThan(1e-5);
      }
    } finally {
      await decoder.close();
    }
  });

  it('transformers.js loads it as the base architecture and agrees with dnc on greedy tokens', async () => {
    const brick = await OnnxBrick.load(brickDirectory, brickDirectory);
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(brickDirectory);
    const model = await AutoModelForCausalLM.from_pretrained(basename(brickDirectory), {
      dtype: 'fp32',
      local_files_only: true,
    });
    try {
      expect(brick.tokenizer.kind).toBe('pretrained');
      expect((model.config as unknown as { model_type: string }).model_type).toBe(testCase.config.model_type);
      const maxNewTokens = 10;
      let generated = 0;
      for (const content of ['How many apples does Alice have?', 'hi']) {
        const ours = await brick.complete([{ role: 'user', content }], { maxNewTokens });
        const ids = brick.tokenizer.encode(
          brick.tokenizer.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true }),
          { addSpecialTokens: false },
        );
        const output = (await model.generate({
          input_ids: new Tensor('int64', int64(ids), [1, ids.length]),
          attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
          max_new_tokens: maxNewTokens,
          do_sample: false,
        })) as Tensor;
        const theirs = Array.from(output.data as BigInt64Array, Number).slice(ids.length);
        // transformers.js keeps the stop token that ended it; dnc reports it separately.
        const trimmed = theirs.at(-1) === brick.tokenizer.endTokenId ? theirs.slice(0, -1) : theirs;
        expect(ours.tokens).toEqual(trimmed);
        generated += ours.tokens.length;
      }
      expect(generated).toBeGreaterThan(4); // the comparison is over real tokens, not two empty answers
    } finally {
      await model.dispose();
      await brick.close();
    }
  });
});
