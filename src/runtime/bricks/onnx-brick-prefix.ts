/**
 * The prompt prefix an ONNX brick's calls share: everything its chat template renders before the
 * last user message's content (the system prompt of an `instruct` brick and the template's tokens:
 * ~250 of a ~280-token decompose prompt), kept in a PrefixCache so that each call prefills only its
 * own question. A `compact` brick's prompts share only a token or two, too few to be worth a cache
 * entry, so they run as before.
 *
 * The prefix is found by rendering the chat twice with two different one-letter contents in place of
 * the last user message and keeping the tokens both renders start with; a prompt whose tokens do not
 * start with it (a tokenizer merging across that boundary) gets no prefix. A call's prefix depends
 * only on its own messages, so the same call gets the same prefix batched or alone.
 */
import type { ChatMessage } from '../../data/schemas.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { PromptPrefix } from '../generation/generation-options.js';
import { commonPrefix, PrefixCache } from '../generation/prefix-cache.js';
import type { OnnxCache, OnnxDecoderModel } from '../onnx/onnx-decoder.js';
import { chatPromptTokens } from './onnx-brick-prompt.js';

/** Distinct templates whose prefix tokens are remembered (the methods × their settings). */
const rememberedTemplates = 32;

export class BrickPromptPrefixes {
  private readonly cache: PrefixCache<OnnxCache>;
  /** Template key (the messages without the last user content) → its prefix tokens. */
  private readonly templates = new Map<string, number[]>();

  constructor(
    private readonly tokenizer: Tokenizer,
    decoder: OnnxDecoderModel,
  ) {
    this.cache = new PrefixCache(decoder);
  }

  /** Prefixes run through the model so far. */
  get computed(): number {
    return this.cache.computed;
  }

  /** The cached prefix for a chat whose tokens are `prompt`; undefined when there is none worth keeping. */
  async prefixFor(
    messages: readonly ChatMessage[],
    prompt: readonly number[],
  ): Promise<PromptPrefix | undefined> {
    const tokens = this.templatePrefix(messages);
    if (tokens === undefined || tokens.length >= prompt.length) return undefined;
    if (!tokens.every((token, index) => prompt[index] === token)) return undefined;
    return this.cache.prefix(tokens);
  }

  /** The prompt prefix several calls' prompts share, when they all have the same one. */
  async sharedPrefix(
    calls: readonly { messages: readonly ChatMessage[]; prompt: readonly number[] }[],
  ): Promise<PromptPrefix | undefined> {
    const keys = new Set(calls.map((call) => this.templatePrefix(call.messages)?.join(',')));
    if (keys.size !== 1 || calls.length === 0) return undefined;
    // generate checks that every prompt starts with it (else the batch prefills in full).
    return this.prefixFor(calls[0]!.messages, calls[0]!.prompt);
  }

  async clear(): Promise<void> {
    this.templates.clear();
    await this.cache.clear();
  }

  private templatePrefix(messages: readonly ChatMessage[]): number[] | undefined {
    const last = messages.findLastIndex((message) => message.role === 'user');
    if (last < 0) return undefined;
    const probe = (content: string) =>
      messages.map((message, index) => (index === last ? { ...message, content } : message));
    const key = JSON.stringify(probe(''));
    let tokens = this.templates.get(key);
    if (tokens === undefined) {
      tokens = commonPrefix([
        chatPromptTokens(this.tokenizer, probe('x')),
        chatPromptTokens(this.tokenizer, probe('y')),
      ]);
      if (this.templates.size >= rememberedTemplates) this.templates.clear();
      this.templates.set(key, tokens);
    }
    return tokens;
  }
}

const byDecoder = new WeakMap<OnnxDecoderModel, BrickPromptPrefixes>();

/** The prompt prefixes of a brick (one set per loaded decoder, made on first use). */
export function brickPromptPrefixes(brick: {
  tokenizer: Tokenizer;
  decoder: OnnxDecoderModel;
}): BrickPromptPrefixes {
  let prefixes = byDecoder.get(brick.decoder);
  if (prefixes === undefined) {
    prefixes = new BrickPromptPrefixes(brick.tokenizer, brick.decoder);
    byDecoder.set(brick.decoder, prefixes);
  }
  return prefixes;
}
