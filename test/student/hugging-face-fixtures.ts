/**
 * Test fixtures: small RANDOM Hugging Face checkpoints written on the fly in the layout people have
 * on disk (config.json, model.safetensors or an index + shards in F32/BF16/F16, tokenizer.json,
 * tokenizer_config.json with a ChatML chat template), one per supported model_type and feature.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { architectureFromHuggingFaceConfig } from '../../src/student/hugging-face-config.js';
import { studentWeightShapes } from '../../src/student/initialize.js';
import { trainBpe } from '../../src/tokenizer/bpe-trainer.js';
import { buildTokenizerJson } from '../../src/tokenizer/tokenizer-files.js';
import { sampleCorpus } from '../tokenizer/random-text.js';

export type Dtype = 'F32' | 'BF16' | 'F16';

export interface CheckpointCase {
  name: string;
  config: Record<string, unknown>;
  dtype: Dtype;
  /** Number of shard files (1: a single model.safetensors). */
  shards: number;
}

/** The model's vocabulary is larger than the tokenizer's (real checkpoints pad it too). */
export const fixtureVocabSize = 320;
const tokenizerVocabSize = 300;

const common = {
  vocab_size: fixtureVocabSize,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-5,
  hidden_act: 'silu',
  bos_token_id: null,
  eos_token_id: 2,
  pad_token_id: 0,
  torch_dtype: 'float32',
};

/** One checkpoint per supported model_type, together covering every feature the issue lists. */
export const checkpointCases: CheckpointCase[] = [
  {
    name: 'llama-tied-f32',
    config: {
      ...common,
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      rope_theta: 10000,
      tie_word_embeddings: true,
    },
    dtype: 'F32',
    shards: 1,
  },
  {
    name: 'llama3-scaled-untied-bf16-sharded',
    config: {
      ...common,
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      rope_theta: 10000,
      tie_word_embeddings: false,
      // With head_dim 8 the wavelengths are 6.3, 63, 628 and 6283: one kept, one blended, two divided.
      rope_scaling: {
        rope_type: 'llama3',
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 64,
      },
    },
    dtype: 'BF16',
    shards: 3,
  },
  {
    name: 'mistral-untied-f16',
    config: {
      ...common,
      model_type: 'mistral',
      architectures: ['MistralForCausalLM'],
      rope_theta: 1000000,
      sliding_window: null,
      tie_word_embeddings: false,
    },
    dtype: 'F16',
    shards: 1,
  },
  {
    name: 'qwen2-biases-bf16',
    config: {
      ...common,
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      rope_theta: 1000000,
      use_sliding_window: false,
      tie_word_embeddings: true,
    },
    dtype: 'BF16',
    shards: 1,
  },
  {
    name: 'qwen3-head-dim-untied-f32-sharded',
    config: {
      ...common,
      model_type: 'qwen3',
      architectures: ['Qwen3ForCausalLM'],
      head_dim: 16, // ≠ hidden_size / num_attention_heads = 8
      rope_theta: 1000000,
      attention_bias: false,
      tie_word_embeddings: false,
    },
    dtype: 'F32',
    shards: 2,
  },
];

/** float32 → bfloat16 bits, round to nearest even (what torch does). */
export function floatToBfloat16(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  return ((bits + 0x7fff + ((bits >> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → IEEE half bits (round to nearest; the fixture's values are normal halves). */
export function floatToHalf(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude === 0) return sign;
  if (magnitude < 2 ** -14) return sign | Math.round(magnitude / 2 ** -24); // subnormal
  let exponent = Math.floor(Math.log2(magnitude));
  let fraction = Math.round((magnitude / 2 ** exponent - 1) * 1024);
  if (fraction === 1024) {
    fraction = 0;
    exponent += 1;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | fraction;
}

/** safetensors bytes with every tensor stored as `dtype`. */
export function encodeTyped(
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  dtype: Dtype,
): Uint8Array {
  const width = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    header[name] = {
      dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + tensor.data.length * width],
    };
    offset += tensor.data.length * width;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - (Buffer.byteLength(headerText) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const bytes = Buffer.alloc(8 + headerBytes.length + offset);
  bytes.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(bytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of tensors.values())
    for (const value of tensor.data) {
      if (dtype === 'F32') bytes.writeFloatLE(value, position);
      else bytes.writeUInt16LE(dtype === 'BF16' ? floatToBfloat16(value) : floatToHalf(value), position);
      position += width;
    }
  return bytes;
}

/**
 * Random weights for a config: matrices N(0, 0.2²) (wide, so that logits differ clearly), norm
 * weights 1 ± 0.2 and biases N(0, 0.1²), so a norm or bias applied wrongly shows up.
 */
export function randomWeights(
  config: Record<string, unknown>,
  seed: number,
): Map<string, { shape: number[]; data: Float32Array }> {
  const architecture = architectureFromHuggingFaceConfig(config, 'fixture config');
  const random = xoroshiro128plus(seed);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(1 - uniformFloat64(random))) * Math.cos(2 * Math.PI * uniformFloat64(random));
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of studentWeightShapes(architecture)) {
    const data = new Float32Array(shape.reduce((product, size) => product * size, 1));
    for (let index = 0; index < data.length; index += 1) {
      if (name.endsWith('norm.weight')) data[index] = 1 + 0.2 * normal();
      else if (name.endsWith('.bias')) data[index] = 0.1 * normal();
      else data[index] = 0.2 * normal();
    }
    tensors.set(name, { shape, data });
  }
  return tensors;
}

/** A ChatML template (the SmolLM2 / Qwen layout). */
export const chatMlTemplate =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The special tokens of the fixture tokenizer, in id order (they replace dnc's seven). */
const fixtureSpecials = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|reserved_0|>',
  '<|reserved_1|>',
  '<|reserved_2|>',
  '<|reserved_3|>',
];

/** A byte-level BPE tokenizer.json + tokenizer_config.json in the Qwen/SmolLM2 style. */
export function fixtureTokenizerFiles(withTemplate = true): {
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
} {
  const model = trainBpe(sampleCorpus(400, 9), { vocabSize: tokenizerVocabSize });
  const built = buildTokenizerJson(model); // dnc's seven special tokens at ids 0..6, renamed below
  const rename = new Map(
    model.vocabulary.slice(0, fixtureSpecials.length).map((token, id) => [token, fixtureSpecials[id]]),
  );
  const vocab = Object.fromEntries(
    Object.entries(built.model.vocab).map(([token, id]) => [rename.get(token) ?? token, id]),
  );
  const json = {
    ...built,
    added_tokens: built.added_tokens.map((token) => ({
      ...token,
      content: rename.get(token.content) ?? token.content,
    })),
    post_processor: null,
    model: { ...built.model, vocab },
  };
  const tokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(
      fixtureSpecials.map((content, id) => [
        String(id),
        { content, lstrip: false, rstrip: false, normalized: false, single_word: false, special: true },
      ]),
    ),
    bos_token: null,
    eos_token: '<|im_end|>',
    pad_token: '<|endoftext|>',
    unk_token: null,
    model_max_length: 128,
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
    ...(withTemplate ? { chat_template: chatMlTemplate } : {}),
  };
  return { tokenizerJson: json, tokenizerConfig };
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Writes the checkpoint of `testCase` into `directory`; returns the float32 weights as written (before rounding). */
export async function writeCheckpoint(
  directory: string,
  testCase: CheckpointCase,
  seed = 5,
): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, 'config.json'), json(testCase.config));
  await writeFile(join(directory, 'generation_config.json'), json({ eos_token_id: 2, pad_token_id: 0 }));
  const tensors = randomWeights(testCase.config, seed);
  if (testCase.shards === 1) {
    await writeFile(join(directory, 'model.safetensors'), encodeTyped(tensors, testCase.dtype));
  } else {
    const names = [...tensors.keys()];
    const weightMap: Record<string, string> = {};
    for (let shard = 0; shard < testCase.shards; shard += 1) {
      const file = `model-${String(shard + 1).padStart(5, '0')}-of-${String(testCase.shards).padStart(5, '0')}.safetensors`;
      const part = new Map(
        names
          .filter((_, index) => index % testCase.shards === shard)
          .map((name) => [name, tensors.get(name)!]),
      );
      for (const name of part.keys()) weightMap[name] = file;
      await writeFile(join(directory, file), encodeTyped(part, testCase.dtype));
    }
    await writeFile(
      join(directory, 'model.safetensors.index.json'),
      json({ metadata: {}, weight_map: weightMap }),
    );
  }
  const { tokenizerJson, tokenizerConfig } = fixtureTokenizerFiles();
  await writeFile(join(directory, 'tokenizer.json'), json(tokenizerJson));
  await writeFile(join(directory, 'tokenizer_config.json'), json(tokenizerConfig));
  return tensors;
}

/** A fresh temporary directory. */
export const temporaryDirectory = (prefix: string): Promise<string> => mkdtemp(join(tmpdir(), prefix));
