/**
 * The tokenizer files of a pretrained Hugging Face model: `tokenizer.json` (whatever model the
 * `tokenizers` library wrote: BPE, Unigram, WordLevel, ...), `tokenizer_config.json` and the chat
 * template, which transformers keeps in one of three places: `tokenizer_config.json`
 * `chat_template` (a string, or a list of named templates), `chat_template.jinja`, or
 * `chat_template.json`. `--chat-template FILE` replaces or supplies it. The template is checked
 * to parse with @huggingface/jinja here, before any training.
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer as HuggingFaceTokenizer } from '@huggingface/tokenizers';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { formatZodError } from '../data/zod-format.js';
import { tokenizerConfigFileName, tokenizerFileName } from './tokenizer-files.js';

export const chatTemplateFileNames = { jinja: 'chat_template.jinja', json: 'chat_template.json' } as const;

/** A special token in tokenizer_config.json: a string, or an AddedToken object, or null. */
const tokenStringSchema = z
  .union([z.string(), z.looseObject({ content: z.string() }).transform((token) => token.content)])
  .nullish();

const namedTemplatesSchema = z.array(z.looseObject({ name: z.string(), template: z.string() }));

export const pretrainedTokenizerConfigSchema = z.looseObject({
  bos_token: tokenStringSchema,
  eos_token: tokenStringSchema,
  pad_token: tokenStringSchema,
  model_max_length: z.number().positive().optional(),
  chat_template: z.union([z.string(), namedTemplatesSchema]).nullish(),
});

export const pretrainedTokenizerJsonSchema = z.looseObject({
  added_tokens: z
    .array(z.looseObject({ id: z.number().int().nonnegative(), content: z.string() }))
    .default([]),
  model: z.looseObject({ type: z.string().optional(), vocab: z.unknown() }),
});

export type PretrainedTokenizerConfig = z.infer<typeof pretrainedTokenizerConfigSchema>;

export interface PretrainedTokenizerFiles {
  /** tokenizer.json as read. */
  tokenizerJson: Record<string, unknown>;
  /** tokenizer_config.json as read, with `chat_template` set to `chatTemplate`. */
  tokenizerConfig: Record<string, unknown>;
  chatTemplate: string;
}

export interface ReadPretrainedTokenizerOptions {
  chatTemplateFile?: string;
  /** The model's vocabulary size: every token id must be below it. */
  vocabSize?: number;
}

async function readText(file: string, hint: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read ${file} (${(error as Error).message}); ${hint}`, { cause: error });
  }
}

async function readJson(file: string, hint: string): Promise<unknown> {
  const text = await readText(file, hint);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file}: invalid JSON (${(error as Error).message}); re-download the file`, {
      cause: error,
    });
  }
}

const readIfPresent = (file: string): Promise<string | undefined> =>
  readFile(file, 'utf8').catch(() => undefined);

/** The template the model's files give, if any (tokenizer_config.json first, as transformers does). */
async function ownChatTemplate(
  directory: string,
  config: PretrainedTokenizerConfig,
): Promise<string | undefined> {
  const inConfig = config.chat_template;
  if (typeof inConfig === 'string') return inConfig;
  if (Array.isArray(inConfig)) return inConfig.find((entry) => entry.name === 'default')?.template;
  const jinja = await readIfPresent(join(directory, chatTemplateFileNames.jinja));
  if (jinja !== undefined) return jinja;
  const jsonText = await readIfPresent(join(directory, chatTemplateFileNames.json));
  if (jsonText === undefined) return undefined;
  const parsed = z.looseObject({ chat_template: z.string() }).safeParse(JSON.parse(jsonText));
  return parsed.success ? parsed.data.chat_template : undefined;
}

function checkTemplate(template: string, source: string): void {
  try {
    new Template(template);
  } catch (error) {
    throw new UserError(
      `${source}: the chat template does not parse (${(error as Error).message.split('\n')[0]}); pass a working one with --chat-template FILE`,
      { cause: error },
    );
  }
}

/** The largest token id tokenizer.json can produce (vocabulary and added tokens). */
export function largestTokenId(tokenizerJson: z.infer<typeof pretrainedTokenizerJsonSchema>): number {
  const vocab = tokenizerJson.model.vocab;
  let largest = Math.max(-1, ...tokenizerJson.added_tokens.map((token) => token.id));
  if (Array.isArray(vocab))
    largest = Math.max(largest, vocab.length - 1); // Unigram: [piece, score][]
  else if (vocab !== null && typeof vocab === 'object')
    for (const id of Object.values(vocab as Record<string, unknown>))
      if (typeof id === 'number' && id > largest) largest = id;
  return largest;
}

/** Reads and checks a pretrained model's tokenizer files and chat template. */
export async function readPretrainedTokenizerFiles(
  directory: string,
  options: ReadPretrainedTokenizerOptions = {},
): Promise<PretrainedTokenizerFiles> {
  const hint = 'a pretrained base needs its tokenizer.json and tokenizer_config.json';
  const tokenizerFile = join(directory, tokenizerFileName);
  const configFile = join(directory, tokenizerConfigFileName);
  const tokenizerJson = await readJson(tokenizerFile, hint);
  const parsedJson = pretrainedTokenizerJsonSchema.safeParse(tokenizerJson);
  if (!parsedJson.success)
    throw new UserError(`${tokenizerFile}: not a tokenizers file: ${formatZodError(parsedJson.error)}`);
  const configJson = await readJson(configFile, hint);
  const parsedConfig = pretrainedTokenizerConfigSchema.safeParse(configJson);
  if (!parsedConfig.success)
    throw new UserError(`${configFile}: ${formatZodError(parsedConfig.error)}; fix or re-download the file`);
  let loaded: HuggingFaceTokenizer;
  try {
    loaded = new HuggingFaceTokenizer(tokenizerJson as object, configJson as object);
  } catch (error) {
    throw new UserError(`${tokenizerFile}: cannot be loaded (${(error as Error).message}); re-download it`, {
      cause: error,
    });
  }
  const eos = parsedConfig.data.eos_token;
  if (eos === null || eos === undefined || loaded.token_to_id(eos) === undefined)
    throw new UserError(
      `${configFile}: eos_token ${JSON.stringify(eos ?? null)} is not a token of tokenizer.json; ` +
        'set eos_token to the token that ends a sequence (dnc stops generation there)',
    );
  const largest = largestTokenId(parsedJson.data);
  if (options.vocabSize !== undefined && largest >= options.vocabSize)
    throw new UserError(
      `${tokenizerFile} has token id ${largest} but config.json's vocab_size is ${options.vocabSize}; the tokenizer does not belong to this model`,
    );
  let chatTemplate: string | undefined;
  let source = configFile;
  if (options.chatTemplateFile !== undefined) {
    chatTemplate = await readText(options.chatTemplateFile, 'check the --chat-template path');
    source = options.chatTemplateFile;
  } else chatTemplate = await ownChatTemplate(directory, parsedConfig.data);
  if (chatTemplate === undefined || chatTemplate.trim() === '')
    throw new UserError(
      `${directory} has no chat template (not in tokenizer_config.json, ${chatTemplateFileNames.jinja} or ${chatTemplateFileNames.json}); ` +
        'pass one with --chat-template FILE (a Jinja template over `messages`, e.g. from the instruct version of the model)',
    );
  checkTemplate(chatTemplate, source);
  return {
    tokenizerJson: tokenizerJson as Record<string, unknown>,
    tokenizerConfig: { ...(configJson as Record<string, unknown>), chat_template: chatTemplate },
    chatTemplate,
  };
}

/**
 * Writes tokenizer.json and tokenizer_config.json (the chat template inline) into `directory`,
 * e.g. a checkpoint or a brick of a pretrained base; readPretrainedTokenizerFiles reads them back.
 */
export async function writePretrainedTokenizerFiles(
  directory: string,
  files: PretrainedTokenizerFiles,
): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeFileAtomic(join(directory, tokenizerFileName), `${JSON.stringify(files.tokenizerJson)}\n`);
  const config = { ...files.tokenizerConfig, chat_template: files.chatTemplate };
  await writeFileAtomic(join(directory, tokenizerConfigFileName), `${JSON.stringify(config, null, 2)}\n`);
}
