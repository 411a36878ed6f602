/**
 * Builds, writes and reads the Hugging Face tokenizer files (`tokenizer.json`,
 * `tokenizer_config.json`) for a trained byte-level BPE model. The layout follows what the Rust
 * `tokenizers` library writes for a GPT-2-style tokenizer, so transformers (Python),
 * transformers.js and @huggingface/tokenizers all load it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { formatZodError } from '../data/zod-format.js';
import type { BpeModel } from './bpe-trainer.js';
import { chatTemplate, specialTokenList, specialTokens } from './special-tokens.js';

export const tokenizerFileName = 'tokenizer.json';
export const tokenizerConfigFileName = 'tokenizer_config.json';

/** A special token as `added_tokens` lists it: matched whole in raw text, never stripped or normalized. */
function addedToken(content: string) {
  return { content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** The `tokenizer.json` object for a trained model. */
export function buildTokenizerJson(model: BpeModel) {
  const vocab: Record<string, number> = {};
  model.vocabulary.forEach((token, id) => {
    vocab[token] = id;
  });
  const bosId = model.vocabulary.indexOf(specialTokens.bos);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokenList.map((token) => ({
      id: model.vocabulary.indexOf(token),
      ...addedToken(token),
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: specialTokens.bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: specialTokens.bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: specialTokens.bos, type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: {
        [specialTokens.bos]: { id: specialTokens.bos, ids: [bosId], tokens: [specialTokens.bos] },
      },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE' as const,
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      // "left right" strings: the format every tokenizers version reads (byte-level tokens contain no space).
      merges: model.merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

export interface TokenizerConfigOptions {
  /** Longest sequence the model takes (its context length). */
  modelMaxLength: number;
}

/** The `tokenizer_config.json` object (special tokens, context length, chat template). */
export function buildTokenizerConfig(model: BpeModel, options: TokenizerConfigOptions) {
  const addedTokensDecoder: Record<string, ReturnType<typeof addedToken>> = {};
  for (const token of specialTokenList)
    addedTokensDecoder[String(model.vocabulary.indexOf(token))] = addedToken(token);
  return {
    added_tokens_decoder: addedTokensDecoder,
    additional_special_tokens: [
      specialTokens.system,
      specialTokens.user,
      specialTokens.assistant,
      specialTokens.end,
    ],
    bos_token: specialTokens.bos,
    eos_token: specialTokens.eos,
    pad_token: specialTokens.pad,
    unk_token: null,
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: options.modelMaxLength,
    chat_template: chatTemplate,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

export type TokenizerJson = z.infer<typeof tokenizerJsonSchema>;
export type TokenizerConfig = z.infer<typeof tokenizerConfigSchema>;

/** What dnc relies on in a `tokenizer.json` (other fields pass through untouched). */
export const tokenizerJsonSchema = z.looseObject({
  added_tokens: z.array(z.looseObject({ id: z.number().int().nonnegative(), content: z.string() })),
  model: z.looseObject({
    type: z.literal('BPE'),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    merges: z.array(z.union([z.tuple([z.string(), z.string()]), z.string()])),
  }),
});

export const tokenizerConfigSchema = z.looseObject({
  bos_token: z.string(),
  eos_token: z.string(),
  pad_token: z.string(),
  model_max_length: z.number().int().positive(),
  chat_template: z.string(),
});

/** Writes both files into `directory` (atomically, each). */
export async function writeTokenizerFiles(
  directory: string,
  model: BpeModel,
  options: TokenizerConfigOptions,
): Promise<void> {
  await writeFileAtomic(join(directory, tokenizerFileName), `${JSON.stringify(buildTokenizerJson(model))}\n`);
  const config = buildTokenizerConfig(model, options);
  await writeFileAtomic(join(directory, tokenizerConfigFileName), `${JSON.stringify(config, null, 2)}\n`);
}

async function readValidatedJson<Schema extends z.ZodType>(
  file: string,
  schema: Schema,
): Promise<z.infer<Schema>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UserError(
      `cannot read ${file}: ${(error as Error).message}; train a tokenizer into that directory first`,
      {
        cause: error,
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `${file}: invalid JSON (${(error as Error).message}); re-create the tokenizer files`,
      {
        cause: error,
      },
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new UserError(`${file}: not a dnc byte-level BPE tokenizer file: ${formatZodError(parsed.error)}`);
  }
  return parsed.data;
}

/** Reads and validates `tokenizer.json` and `tokenizer_config.json` from a directory. */
export async function readTokenizerFiles(
  directory: string,
): Promise<{ tokenizerJson: TokenizerJson; tokenizerConfig: TokenizerConfig }> {
  const tokenizerJson = await readValidatedJson(join(directory, tokenizerFileName), tokenizerJsonSchema);
  const tokenizerConfig = await readValidatedJson(
    join(directory, tokenizerConfigFileName),
    tokenizerConfigSchema,
  );
  return { tokenizerJson, tokenizerConfig };
}
