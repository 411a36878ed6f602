/**
 * dnc's tokenizer: a thin wrapper over @huggingface/tokenizers (which encodes and decodes from
 * `tokenizer.json`) and @huggingface/jinja (which renders the chat template), so that dnc, the
 * exported brick and transformers.js all tokenize through the same files.
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer as HuggingFaceTokenizer } from '@huggingface/tokenizers';
import type { ChatMessage } from '../data/schemas.js';
import { specialTokens, type SpecialTokenIds, type SpecialTokenName } from './special-tokens.js';
import type { BpeModel } from './bpe-trainer.js';
import {
  buildTokenizerConfig,
  buildTokenizerJson,
  readTokenizerFiles,
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

export class Tokenizer {
  /** Number of token ids (the model's embedding rows must be at least this many). */
  readonly vocabSize: number;
  readonly specialTokenIds: SpecialTokenIds;
  readonly modelMaxLength: number;
  private readonly inner: HuggingFaceTokenizer;
  private readonly template: Template;
  private readonly config: TokenizerConfig;

  constructor(tokenizerJson: TokenizerJson, tokenizerConfig: TokenizerConfig) {
    this.inner = new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig);
    this.config = tokenizerConfig;
    this.template = new Template(tokenizerConfig.chat_template);
    this.modelMaxLength = tokenizerConfig.model_max_length;
    const ids = [
      ...Object.values(tokenizerJson.model.vocab),
      ...tokenizerJson.added_tokens.map((token) => token.id),
    ];
    this.vocabSize = Math.max(...ids) + 1;
    const entries = Object.entries(specialTokens).map(([name, token]) => {
      const id = this.inner.token_to_id(token);
      if (id === undefined)
        throw new Error(`tokenizer.json lacks the special token ${token}; retrain the tokenizer`);
      return [name, id] as const;
    });
    this.specialTokenIds = Object.fromEntries(entries) as Record<SpecialTokenName, number>;
  }

  /** Loads `tokenizer.json` and `tokenizer_config.json` from a directory. */
  static async load(directory: string): Promise<Tokenizer> {
    const { tokenizerJson, tokenizerConfig } = await readTokenizerFiles(directory);
    return new Tokenizer(tokenizerJson, tokenizerConfig);
  }

  /** A tokenizer straight from a freshly trained model (same files as `writeTokenizerFiles` writes). */
  static fromBpeModel(model: BpeModel, options: TokenizerConfigOptions): Tokenizer {
    return new Tokenizer(buildTokenizerJson(model), buildTokenizerConfig(model, options));
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

  /** Renders messages with the Jinja chat template of tokenizer_config.json. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.template.render({
      messages: messages.map((message) => ({ role: message.role, content: message.content })),
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: this.config.bos_token,
      eos_token: this.config.eos_token,
      pad_token: this.config.pad_token,
    });
  }
}
