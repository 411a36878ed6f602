import { describe, expect, it } from 'vitest';
import { countParameters } from '../../src/student/config.js';
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

// config.json of real bases (copied from their Hugging Face repositories; fields dnc ignores trimmed).
const llama32 = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  vocab_size: 128256,
};
const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  hidden_act: 'silu',
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
const qwen3 = {
  architectures: ['Qwen3ForCausalLM'],
  attention_bias: false,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 1024,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  model_type: 'qwen3',
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

describe('architectureFromHuggingFaceConfig', () => {
  it('reads the configs of real bases and counts their published parameters', () => {
    for (const [config, parameters] of [
      [smolLm2, 134_515_008], // SmolLM2-135M
      [llama32, 1_235_814_400], // Llama-3.2-1B
      [qwen25, 494_032_768], // Qwen2.5-0.5B
      [qwen3, 596_049_920], // Qwen3-0.6B
    ] as const)
      expect(
        countParameters(architectureFromHuggingFaceConfig(config, 'config.json')),
        config.model_type,
      ).toBe(parameters);
    expect(architectureFromHuggingFaceConfig(llama32, 'c').ropeScaling).toEqual({
      ropeType: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    expect(architectureFromHuggingFaceConfig(qwen3, 'c')).toMatchObject({ headDim: 128, queryKeyNorm: true });
  });

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
