/**
 * A Hugging Face model directory as people have it on disk (SmolLM2, Qwen2.5/Qwen3, Llama 3.x,
 * Mistral): `config.json`, the weights in `model.safetensors` or sharded
 * (`model.safetensors.index.json` + shards), `tokenizer.json`, `tokenizer_config.json` and a chat
 * template. Everything is checked before any training starts; each problem is one line naming the
 * file, the tensor or the field, and what to do.
 *
 * Weights come out as float32 under their Hugging Face names. Each shard is read in one read and
 * decoded straight from that buffer (F32 tensors are views of it, F16/BF16 are upcast), so a file
 * is never held twice.
 */
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { formatZodError } from '../data/zod-format.js';
import { type StudentArchitecture } from './config.js';
import { architectureFromHuggingFaceConfig } from './hugging-face-config.js';
import { studentWeightShapes } from './initialize.js';
import { readSafetensors, type Tensor } from './safetensors.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import {
  readPretrainedTokenizerFiles,
  type PretrainedTokenizerFiles,
} from '../tokenizer/pretrained-tokenizer-files.js';

export const huggingFaceFiles = {
  config: 'config.json',
  weights: 'model.safetensors',
  weightsIndex: 'model.safetensors.index.json',
} as const;

export interface PretrainedCheckpoint {
  /** The model directory, absolute. */
  directory: string;
  /** The architecture; its `huggingFaceConfig` is the base's config.json, kept for export. */
  architecture: StudentArchitecture;
  /** config.json as read (every field), for re-export. */
  huggingFaceConfig: Record<string, unknown>;
  /** Every tensor the architecture has, float32, under its Hugging Face name. */
  weights: Map<string, Float32Array>;
  /** tokenizer.json and tokenizer_config.json (its `chat_template` set to the template below). */
  tokenizerFiles: PretrainedTokenizerFiles;
  /** The Jinja chat template (from `--chat-template FILE`, tokenizer_config.json or chat_template.jinja). */
  chatTemplate: string;
  /** The base's own tokenizer over those files (kind `pretrained`). */
  tokenizer: Tokenizer;
}

export interface LoadPretrainedOptions {
  /** A Jinja chat template file that replaces (or supplies) the tokenizer's own. */
  chatTemplateFile?: string;
}

async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read ${file} (${(error as Error).message}); ${what}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file}: invalid JSON (${(error as Error).message}); re-download the file`, {
      cause: error,
    });
  }
}

const weightIndexSchema = z.looseObject({
  weight_map: z.record(z.string(), z.string().min(1)),
});

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

/** The safetensors files that hold the weights: the index's shards, or the single file. */
async function weightFiles(directory: string): Promise<string[]> {
  const indexFile = join(directory, huggingFaceFiles.weightsIndex);
  if (await exists(indexFile)) {
    const parsed = weightIndexSchema.safeParse(await readJsonFile(indexFile, 're-download the model'));
    if (!parsed.success)
      throw new UserError(`${indexFile}: not a safetensors index: ${formatZodError(parsed.error)}`);
    const shards = [...new Set(Object.values(parsed.data.weight_map))].sort();
    for (const shard of shards)
      if (!(await exists(join(directory, shard))))
        throw new UserError(
          `the shard ${shard} named by ${indexFile} is missing from ${directory}; download every shard of the model`,
        );
    return shards.map((shard) => join(directory, shard));
  }
  const single = join(directory, huggingFaceFiles.weights);
  if (!(await exists(single)))
    throw new UserError(
      `${directory} has neither ${huggingFaceFiles.weights} nor ${huggingFaceFiles.weightsIndex}; ` +
        'dnc reads safetensors weights (convert .bin/.pth checkpoints with transformers first)',
    );
  return [single];
}

/** Tensors a checkpoint may carry that dnc does not need (they are recomputed or duplicated). */
function isIgnorable(name: string, architecture: StudentArchitecture): boolean {
  return (
    name.endsWith('rotary_emb.inv_freq') || (architecture.tieWordEmbeddings && name === 'lm_head.weight')
  );
}

/** Reads every shard and checks names and shapes against the architecture. */
export async function readPretrainedWeights(
  directory: string,
  architecture: StudentArchitecture,
): Promise<Map<string, Float32Array>> {
  const expected = studentWeightShapes(architecture);
  const found = new Map<string, Tensor & { file: string }>();
  for (const file of await weightFiles(directory)) {
    const { tensors, skipped } = await readSafetensors(file, {
      views: true,
      select: (name) => expected.has(name),
    });
    for (const [name, tensor] of tensors) found.set(name, { ...tensor, file });
    const unknown = skipped.filter((name) => !isIgnorable(name, architecture));
    if (unknown.length > 0)
      throw new UserError(
        `${file} holds ${unknown[0]}${unknown.length > 1 ? ` and ${unknown.length - 1} more tensors` : ''} that ` +
          `config.json's ${architecture.modelType ?? 'llama'} architecture does not have; check that config.json belongs to these weights`,
      );
  }
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of expected) {
    const tensor = found.get(name);
    if (tensor === undefined)
      throw new UserError(
        `the weights in ${directory} lack the tensor ${name}; the checkpoint is incomplete or config.json does not match it`,
      );
    if (tensor.shape.join(',') !== shape.join(','))
      throw new UserError(
        `${tensor.file}: tensor ${name} has shape [${tensor.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    weights.set(name, tensor.data);
  }
  return weights;
}

/**
 * Loads a Hugging Face model directory: config (→ architecture), tokenizer files and chat template
 * (checked first: they are small), then the weights.
 */
export async function loadPretrainedCheckpoint(
  directory: string,
  options: LoadPretrainedOptions = {},
): Promise<PretrainedCheckpoint> {
  const absolute = resolve(directory);
  const configFile = join(absolute, huggingFaceFiles.config);
  const configJson = await readJsonFile(
    configFile,
    'a pretrained base is a Hugging Face model directory with config.json, safetensors weights and tokenizer files',
  );
  const architecture = architectureFromHuggingFaceConfig(configJson, configFile);
  const tokenizerFiles = await readPretrainedTokenizerFiles(absolute, {
    chatTemplateFile: options.chatTemplateFile,
    vocabSize: architecture.vocabSize,
  });
  const tokenizer = Tokenizer.fromPretrainedFiles(tokenizerFiles);
  const weights = await readPretrainedWeights(absolute, architecture);
  return {
    directory: absolute,
    architecture,
    huggingFaceConfig: configJson as Record<string, unknown>,
    weights,
    tokenizerFiles,
    chatTemplate: tokenizerFiles.chatTemplate,
    tokenizer,
  };
}
