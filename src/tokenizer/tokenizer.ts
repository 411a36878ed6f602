/**
 * dnc's tokenizer: a thin wrapper over @huggingface/tokenizers (which encodes and decodes from
 * `tokenizer.json`) and @huggingface/jinja (which renders the chat template), so that dnc, the
 * exported brick and transformers.js all tokenize through the same files. It is either one dnc
 * trained (its seven special tokens, `specialTokenIds`) or a pretrained base's own, whose turn
 * end is read from its chat template; both give bos/eos/pad/end ids.
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer as HuggingFaceTokenizer } from '@huggingface/tokenizers';
import type { ChatMessage } from '../data/schemas.js';
import { specialTokens, type SpecialTokenIds, type SpecialTokenName } from './special-tokens.js';
import type { BpeModel } from './bpe-trainer.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  largestTokenId,
  pretrainedTokenizerConfigSchema,
  pretrainedTokenizerJsonSchema,
  readPretrainedTokenizerFiles,
  type PretrainedTokenizerFiles,
} from './pretrained-tokenizer-files.js';
import {
  buildTokenizerConfig,
  buildTokenizerJson,
  readTokenizerFiles,
  tokenizerFileName,
  type TokenizerConfig,
  type TokenizerConfigOptions,
  type TokenizerJson,
} from './tokenizer-files.js';

export interface EncodeOptions {
  /** Prepend `<|bos|>` (the post-processor of tokenizer.json). Default true, as in Hugging Face. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens from the text. Default false. */
  skipSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** Append the assistant marker so that a model continues with the assistant's answer. */
  addGenerationPrompt?: boolean;
}

/** `dnc`: a tokenizer dnc trained (its seven special tokens); `pretrained`: a base model's own. */
export type TokenizerKind = 'dnc' | 'pretrained';

/** The special tokens a tokenizer_config.json names (strings or null; pretrained ones may lack some). */
interface SpecialTokenStrings {
  bos_token?: string | null;
  eos_token?: string | null;
  pad_token?: string | null;
  model_max_length?: number;
  chat_template: string;
}

/** Stands in for the assistant's content when the chat template is probed for its turn end. */
const probeContent = 'dnc-probe-7f3a';

export class Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of token ids (the model's embedding rows must be at least this many). */
  readonly vocabSize: number;
  readonly modelMaxLength: number;
  /** The token a sequence starts with, if the tokenizer has one (Qwen's has none). */
  readonly bosTokenId: number | null;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  /** The token that closes an assistant turn (`<|end|>`, `<|im_end|>`, `<|eot_id|>`, ...). */
  readonly endTokenId: number;
  private readonly dncTokenIds: SpecialTokenIds | undefined;
  private readonly inner: HuggingFaceTokenizer;
  private readonly template: Template;
  private readonly config: SpecialTokenStrings;

  constructor(tokenizerJson: object, tokenizerConfig: SpecialTokenStrings, kind: TokenizerKind = 'dnc') {
    this.kind = kind;
    this.inner = new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig);
    this.config = tokenizerConfig;
    this.template = new Template(tokenizerConfig.chat_template);
    this.modelMaxLength = tokenizerConfig.model_max_length ?? Number.MAX_SAFE_INTEGER;
    this.vocabSize = largestTokenId(pretrainedTokenizerJsonSchema.parse(tokenizerJson)) + 1;
    if (kind === 'dnc') {
      const entries = Object.entries(specialTokens).map(([name, token]) => {
        const id = this.inner.token_to_id(token);
        if (id === undefined)
          throw new Error(`tokenizer.json lacks the special token ${token}; retrain the tokenizer`);
        return [name, id] as const;
      });
      this.dncTokenIds = Object.fromEntries(entries) as Record<SpecialTokenName, number>;
    }
    const idOf = (token: string | null | undefined): number | undefined =>
      token === null || token === undefined ? undefined : this.inner.token_to_id(token);
    this.bosTokenId = idOf(tokenizerConfig.bos_token) ?? null;
    const eos = idOf(tokenizerConfig.eos_token);
    if (eos === undefined)
      throw new Error(
        `tokenizer_config.json's eos_token ${JSON.stringify(tokenizerConfig.eos_token)} is not a token of tokenizer.json; fix eos_token`,
      );
    this.eosTokenId = eos;
    this.padTokenId = idOf(tokenizerConfig.pad_token) ?? eos;
    this.endTokenId = this.dncTokenIds?.end ?? this.probeTurnEnd() ?? eos;
  }

  /**
   * The first special token the chat template writes after an assistant's content: the token a
   * model of this template ends its turn with.
   */
  private probeTurnEnd(): number | undefined {
    const rendered = this.applyChatTemplate([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: probeContent },
    ]);
    const after = rendered.indexOf(probeContent);
    if (after < 0) return undefined;
    const ids = this.encode(rendered.slice(after + probeContent.length), { addSpecialTokens: false });
    return ids.find((id) => this.isSpecial(id));
  }

  private isSpecial(id: number): boolean {
    return this.decode([id], { skipSpecialTokens: true }) === '' && this.decode([id]) !== '';
  }

  /** dnc's seven special tokens; only a tokenizer dnc trained has them. */
  get specialTokenIds(): SpecialTokenIds {
    if (this.dncTokenIds === undefined)
      throw new Error(
        'this is a pretrained tokenizer without dnc special tokens; use bosTokenId/eosTokenId/padTokenId/endTokenId',
      );
    return this.dncTokenIds;
  }

  /** Loads `tokenizer.json` and `tokenizer_config.json` from a directory (dnc's or a pretrained model's). */
  static async load(directory: string): Promise<Tokenizer> {
    if (await hasDncSpecialTokens(directory)) {
      const { tokenizerJson, tokenizerConfig } = await readTokenizerFiles(directory);
      return new Tokenizer(tokenizerJson, tokenizerConfig, 'dnc');
    }
    return Tokenizer.fromPretrainedFiles(await readPretrainedTokenizerFiles(directory));
  }

  /** A base model's own tokenizer (files read by readPretrainedTokenizerFiles). */
  static fromPretrainedFiles(files: PretrainedTokenizerFiles): Tokenizer {
    const config = pretrainedTokenizerConfigSchema.parse(files.tokenizerConfig);
    return new Tokenizer(
      files.tokenizerJson,
      {
        bos_token: config.bos_token,
        eos_token: config.eos_token,
        pad_token: config.pad_token,
        model_max_length: config.model_max_length,
        chat_template: files.chatTemplate,
      },
      'pretrained',
    );
  }

  /** dnc's own tokenizer objects (as tokenizer-files.ts builds and validates them). */
  static fromDncFiles(tokenizerJson: TokenizerJson, tokenizerConfig: TokenizerConfig): Tokenizer {
    return new Tokenizer(tokenizerJson, tokenizerConfig, 'dnc');
  }

  /** A tokenizer straight from a freshly trained model (same files as `writeTokenizerFiles` writes). */
  static fromBpeModel(model: BpeModel, options: TokenizerConfigOptions): Tokenizer {
    return new Tokenizer(buildTokenizerJson(model), buildTokenizerConfig(model, options), 'dnc');
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return ''; // the underlying decoder rejects an empty list
    return this.inner.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  /** The id of one token string (byte-level alphabet), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** Renders messages with the Jinja chat template. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.template.render({
      messages: messages.map((message) => ({ role: message.role, content: message.content })),
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: this.config.bos_token ?? '',
      eos_token: this.config.eos_token ?? '',
      pad_token: this.config.pad_token ?? '',
    });
  }
}

/** Whether a directory's tokenizer_config.json/tokenizer.json is one dnc trained (has its special tokens). */
async function hasDncSpecialTokens(directory: string): Promise<boolean> {
  const text = await readFile(join(directory, tokenizerFileName), 'utf8').catch(() => undefined);
  if (text === undefined) return true; // let the dnc reader report the missing file as before
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return true; // the dnc reader reports the corrupt file
  }
  const parsed = pretrainedTokenizerJsonSchema.safeParse(json);
  if (!parsed.success) return true;
  const added = new Set(parsed.data.added_tokens.map((token) => token.content));
  return Object.values(specialTokens).every((token) => added.has(token));
}
