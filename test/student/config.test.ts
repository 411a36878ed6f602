import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countParameters, loadPreset, toHuggingFaceConfig } from '../../src/student/config.js';

describe('student presets', () => {
  it.each([
    ['nano', 50_000, 1_000_000],
    ['micro', 500_000, 1_000_000],
    ['tiny', 2_000_000, 5_000_000],
    ['small', 15_000_000, 30_000_000],
  ])('%s has a parameter count within its size class', async (name, low, high) => {
    const preset = await loadPreset(name);
    expect(preset.name).toBe(name);
    const parameters = countParameters(preset.architecture);
    expect(parameters).toBeGreaterThanOrEqual(low);
    expect(parameters).toBeLessThanOrEqual(high);
  });

  it('counts parameters tensor by tensor (tied embeddings once)', async () => {
    const { architecture } = await loadPreset('nano');
    // embed 512×64; per layer q 64×64, k and v 32×64, o 64×64, gate/up/down 176×64, two norms; final norm.
    const layer = 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 176 * 64 + 2 * 64;
    expect(countParameters(architecture)).toBe(512 * 64 + 2 * layer + 64);
  });

  it('lists the known presets when the name is unknown', async () => {
    await expect(loadPreset('huge')).rejects.toThrow(
      /unknown student preset "huge".*use one of: micro, moe-micro, moe-nano, moe-tiny, nano, small, tiny/,
    );
  });

  it('names the file and field of an invalid preset', async () => {
    const preset = await loadPreset('nano');
    const file = join(await mkdtemp(join(tmpdir(), 'dnc-preset-')), 'odd.json');
    await writeFile(
      file,
      JSON.stringify({ ...preset, architecture: { ...preset.architecture, numAttentionHeads: 3 } }),
    );
    await expect(loadPreset(file)).rejects.toThrow(
      /odd\.json: invalid student preset: .*divisible by numAttentionHeads/,
    );
    await writeFile(
      file,
      JSON.stringify({ ...preset, training: { ...preset.training, sequenceLength: 4096 } }),
    );
    await expect(loadPreset(file)).rejects.toThrow(/sequenceLength must not exceed/);
  });

  it('converts to a Hugging Face LlamaConfig', async () => {
    const { architecture } = await loadPreset('tiny');
    const config = toHuggingFaceConfig(architecture, { bos: 0, eos: 1, pad: 2 });
    expect(config).toMatchObject({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      hidden_size: 256,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 64,
      vocab_size: 2048,
      tie_word_embeddings: true,
      hidden_act: 'silu',
      torch_dtype: 'float32',
      bos_token_id: 0,
      eos_token_id: 1,
      pad_token_id: 2,
    });
  });
});
