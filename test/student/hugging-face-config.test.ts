import { describe, expect, it } from 'vitest';
import { architectureFromHuggingFaceConfig } from '../../src/student/hugging-face-config.js';
import { loadPretrainedCheckpoint } from '../../src/student/hugging-face-checkpoint.js';
import { checkpointCases, temporaryDirectory, writeCheckpoint } from './hugging-face-fixtures.js';

const smolLm2 = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 49152,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  max_position_embeddings: 8192,
  rope_theta: 100000,
  rms_norm_eps: 1e-5,
  hidden_act: 'silu',
  tie_word_embeddings: true,
};

describe('architectureFromHuggingFaceConfig', () => {
  it("reads SmolLM2-135M's config (GQA 9/3, head size 64, tied)", () => {
    const architecture = architectureFromHuggingFaceConfig(smolLm2, 'config.json');
    expect(architecture).toMatchObject({
      modelType: 'llama',
      numAttentionHeads: 9,
      numKeyValueHeads: 3,
      headDim: undefined,
      tieWordEmbeddings: true,
      biasedProjections: [],
      queryKeyNorm: false,
      ropeTheta: 100000,
      maxPositionEmbeddings: 8192,
    });
    expect(architecture.huggingFaceConfig).toEqual(smolLm2);
  });

  it('applies the transformers defaults a config leaves out', () => {
    const { tie_word_embeddings: _tie, rope_theta: _theta, rms_norm_eps: _eps, ...bare } = smolLm2;
    expect(architectureFromHuggingFaceConfig(bare, 'c')).toMatchObject({
      tieWordEmbeddings: false, // LlamaConfig's default
      ropeTheta: 10000,
      rmsNormEps: 1e-6,
    });
    // Qwen3Config's head_dim defaults to 128; Mistral's sliding_window to 4096 (bounding the context).
    expect(architectureFromHuggingFaceConfig({ ...bare, model_type: 'qwen3' }, 'c').headDim).toBe(128);
    expect(
      architectureFromHuggingFaceConfig({ ...bare, model_type: 'mistral' }, 'c').maxPositionEmbeddings,
    ).toBe(4096);
    expect(
      architectureFromHuggingFaceConfig({ ...bare, model_type: 'mistral', sliding_window: null }, 'c')
        .maxPositionEmbeddings,
    ).toBe(8192);
    expect(
      architectureFromHuggingFaceConfig(
        { ...bare, model_type: 'qwen2', use_sliding_window: true, sliding_window: 2048 },
        'c',
      ).maxPositionEmbeddings,
    ).toBe(2048);
  });

  it('maps bias settings per model_type as the modeling files do', () => {
    expect(
      architectureFromHuggingFaceConfig({ ...smolLm2, model_type: 'qwen2' }, 'c').biasedProjections,
    ).toEqual(['q_proj', 'k_proj', 'v_proj']);
    expect(
      architectureFromHuggingFaceConfig({ ...smolLm2, attention_bias: true, mlp_bias: true }, 'c')
        .biasedProjections,
    ).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    expect(
      architectureFromHuggingFaceConfig({ ...smolLm2, model_type: 'mistral', attention_bias: true }, 'c')
        .biasedProjections,
    ).toEqual([]);
  });

  it('refuses what it cannot run, in one line', () => {
    expect(() =>
      architectureFromHuggingFaceConfig({ ...smolLm2, hidden_act: 'gelu' }, 'x/config.json'),
    ).toThrow(/^x\/config\.json: unsupported hidden_act 'gelu'; dnc supports silu$/);
    expect(() =>
      architectureFromHuggingFaceConfig({ ...smolLm2, hidden_size: undefined }, 'x/config.json'),
    ).toThrow(/x\/config\.json: not a decoder config dnc can read: .*hidden_size/);
    expect(() =>
      architectureFromHuggingFaceConfig(
        { ...smolLm2, rope_scaling: { rope_type: 'llama3', factor: 8 } },
        'c',
      ),
    ).toThrow(/rope_scaling of type llama3: .*low_freq_factor/);
  });
});

describe('reading F32 weights', () => {
  it('keeps them as views of the one file buffer (the file is not held twice)', async () => {
    const single = checkpointCases.find((testCase) => testCase.dtype === 'F32' && testCase.shards === 1)!;
    const directory = await temporaryDirectory('dnc-hf-views-');
    await writeCheckpoint(directory, single);
    const { weights } = await loadPretrainedCheckpoint(directory);
    const buffers = new Set([...weights.values()].map((data) => data.buffer));
    expect(buffers.size).toBe(1);
  });
});
