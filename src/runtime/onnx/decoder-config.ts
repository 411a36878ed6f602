/**
 * What the ONNX runtime reads from a decoder directory's Hugging Face files: `config.json` (layers,
 * heads, head size, vocabulary) and `generation_config.json` (end-of-sequence ids). Llama and
 * Qwen2-family exports (Optimum, transformers.js conversions, dnc) all write these fields.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { formatZodError } from '../../data/zod-format.js';

const count = z.number().int().positive();
const tokenIds = z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]).nullish();

const modelConfigSchema = z.looseObject({
  model_type: z.string().optional(),
  vocab_size: count,
  hidden_size: count,
  num_hidden_layers: count,
  num_attention_heads: count,
  num_key_value_heads: count.optional(),
  head_dim: count.nullish(),
  max_position_embeddings: count.optional(),
  eos_token_id: tokenIds,
  pad_token_id: z.number().int().nonnegative().nullish(),
});

const generationConfigSchema = z.looseObject({
  eos_token_id: tokenIds,
  pad_token_id: z.number().int().nonnegative().nullish(),
  max_new_tokens: z.number().int().positive().nullish(),
});

export interface DecoderConfig {
  modelType: string;
  vocabSize: number;
  layers: number;
  keyValueHeads: number;
  headDimension: number;
  maxPositions: number | undefined;
  eosTokenIds: number[];
  padTokenId: number | undefined;
  /** The model's own generation budget (`generation_config.json` `max_new_tokens`), if it has one. */
  maxNewTokens: number | undefined;
}

async function readJson(file: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!required) return undefined;
    throw new Error(
      `${file} is missing (${(error as Error).message}); a decoder directory needs the Hugging Face config.json of its model`,
      { cause: error },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: invalid JSON (${(error as Error).message}); fix or re-export the file`, {
      cause: error,
    });
  }
}

const asList = (ids: number | number[] | null | undefined): number[] =>
  ids === null || ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];

export async function readDecoderConfig(directory: string): Promise<DecoderConfig> {
  const configFile = join(directory, 'config.json');
  const parsed = modelConfigSchema.safeParse(await readJson(configFile, true));
  if (!parsed.success)
    throw new Error(
      `${configFile}: not a decoder config dnc can run: ${formatZodError(parsed.error)}; ` +
        'it needs vocab_size, hidden_size, num_hidden_layers and num_attention_heads (a Llama/Qwen2-style config)',
    );
  const config = parsed.data;
  const generationFile = join(directory, 'generation_config.json');
  const generationJson = await readJson(generationFile, false);
  const generation =
    generationJson === undefined ? undefined : generationConfigSchema.safeParse(generationJson);
  if (generation !== undefined && !generation.success)
    throw new Error(`${generationFile}: ${formatZodError(generation.error)}; fix or re-export the file`);
  const eosTokenIds = asList(generation?.data.eos_token_id ?? config.eos_token_id);
  if (eosTokenIds.length === 0)
    throw new Error(
      `neither ${generationFile} nor ${configFile} gives eos_token_id; add it so generation can stop`,
    );
  return {
    modelType: config.model_type ?? 'unknown',
    vocabSize: config.vocab_size,
    layers: config.num_hidden_layers,
    keyValueHeads: config.num_key_value_heads ?? config.num_attention_heads,
    headDimension: config.head_dim ?? config.hidden_size / config.num_attention_heads,
    maxPositions: config.max_position_embeddings,
    eosTokenIds,
    padTokenId: generation?.data.pad_token_id ?? config.pad_token_id ?? undefined,
    maxNewTokens: generation?.data.max_new_tokens ?? undefined,
  };
}
