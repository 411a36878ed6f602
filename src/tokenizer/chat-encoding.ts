/**
 * Turns a chat example into the trainer's input: token ids and a loss mask that is 1 exactly on
 * the assistant's content tokens and the `<|end|>` that closes each assistant turn (for a
 * pretrained base's tokenizer: its own template and turn-end token, see encodeTemplatedChat).
 *
 * The sequence is built message by message (`<|bos|>`, then `<|role|>` content `<|end|>` per
 * message) so that each token's owner is known; it is then checked against the Jinja rendering
 * of the same messages, so the training input is byte-for-byte what the chat template (and any
 * runtime that uses it) produces.
 */
import type { ChatMessage } from '../data/schemas.js';
import { specialTokens } from './special-tokens.js';
import type { Tokenizer } from './tokenizer.js';

export interface ChatTrainingExample {
  inputIds: number[];
  /** 1 where the next-token loss counts (assistant content and its end-of-turn token), else 0. */
  lossMask: number[];
}

function sameIds(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, index) => id === right[index]);
}

export interface ChatEncodingOptions {
  /**
   * Check the result against the Jinja rendering re-tokenized whole (default true). The check
   * costs more than the encoding itself (a template render and a second tokenization), so a
   * training set checks a sample of its examples: the properties it guards (the template renders
   * as dnc concatenates, and the tokenizer splits at special tokens) belong to the tokenizer, not
   * to one example's text.
   */
  verify?: boolean;
  /** Token ids of message contents already encoded (repeated system prompts, repeated questions). */
  cache?: Map<string, number[]>;
}

export function encodeChatForTraining(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: ChatEncodingOptions = {},
): ChatTrainingExample {
  if (tokenizer.kind === 'pretrained') return encodeTemplatedChat(tokenizer, messages, options);
  const ids = tokenizer.specialTokenIds;
  const inputIds: number[] = [ids.bos];
  const lossMask: number[] = [0];
  for (const message of messages) {
    const isAssistant = message.role === 'assistant' ? 1 : 0;
    let content = options.cache?.get(message.content);
    if (content === undefined) {
      content = tokenizer.encode(message.content, { addSpecialTokens: false });
      options.cache?.set(message.content, content);
    }
    inputIds.push(ids[message.role], ...content, ids.end);
    lossMask.push(0, ...content.map(() => isAssistant), isAssistant);
  }
  if (options.verify ?? true) verifyAgainstTemplate(tokenizer, messages, inputIds);
  return { inputIds, lossMask };
}

function verifyAgainstTemplate(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  inputIds: readonly number[],
): void {
  const rendered =
    specialTokens.bos +
    messages.map((message) => specialTokens[message.role] + message.content + specialTokens.end).join('');
  const templated = tokenizer.applyChatTemplate(messages);
  if (templated !== rendered) {
    throw new Error('the chat template of tokenizer_config.json does not render messages as dnc trains them');
  }
  if (!sameIds(tokenizer.encode(templated, { addSpecialTokens: false }), inputIds)) {
    throw new Error(
      'per-message tokenization differs from tokenizing the rendered chat; the loss mask would be off',
    );
  }
}

/** Text spans of a rendered chat: `loss` 1 for an assistant's answer through its turn end. */
interface ChatSpan {
  text: string;
  loss: 0 | 1;
}

/**
 * Splits the rendering of a chat under a pretrained base's own template into spans: each assistant
 * answer runs from where the template opens the assistant turn (rendering the chat up to it with
 * the generation prompt) to the end of its turn-end token (the last one in the rendering through
 * that answer). A template that does not render a conversation as a growing prefix (one that
 * rewrites earlier turns) cannot be masked this way and is refused.
 */
function templatedSpans(tokenizer: Tokenizer, messages: readonly ChatMessage[]): ChatSpan[] {
  const full = tokenizer.applyChatTemplate(messages);
  const endText = tokenizer.decode([tokenizer.endTokenId]);
  const spans: ChatSpan[] = [];
  let position = 0;
  messages.forEach((message, index) => {
    if (message.role !== 'assistant') return;
    const prefix = tokenizer.applyChatTemplate(messages.slice(0, index), { addGenerationPrompt: true });
    const through = tokenizer.applyChatTemplate(messages.slice(0, index + 1));
    if (!full.startsWith(prefix) || !full.startsWith(through) || prefix.length < position)
      throw new Error(
        'the chat template does not render conversations as a growing prefix (it rewrites earlier turns), ' +
          'so the assistant tokens cannot be masked; give a plain template with --chat-template FILE',
      );
    const endAt = through.lastIndexOf(endText);
    const answerEnd = endAt >= prefix.length ? endAt + endText.length : through.length;
    spans.push({ text: full.slice(position, prefix.length), loss: 0 });
    spans.push({ text: full.slice(prefix.length, answerEnd), loss: 1 });
    position = answerEnd;
  });
  spans.push({ text: full.slice(position), loss: 0 });
  return spans.filter((span) => span.text.length > 0);
}

/**
 * A chat under a pretrained base's template: the spans are tokenized one by one (so each token's
 * owner is known) and, when verifying, checked against tokenizing the whole rendering, as
 * transformers' `apply_chat_template(tokenize=True)` does (no special tokens added).
 */
function encodeTemplatedChat(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: ChatEncodingOptions,
): ChatTrainingExample {
  const spans = templatedSpans(tokenizer, messages);
  const inputIds: number[] = [];
  const lossMask: number[] = [];
  for (const span of spans) {
    let ids = options.cache?.get(span.text);
    if (ids === undefined) {
      ids = tokenizer.encode(span.text, { addSpecialTokens: false });
      options.cache?.set(span.text, ids);
    }
    inputIds.push(...ids);
    lossMask.push(...ids.map(() => span.loss));
  }
  if (options.verify ?? true) {
    const whole = tokenizer.encode(spans.map((span) => span.text).join(''), { addSpecialTokens: false });
    if (!sameIds(whole, inputIds))
      throw new Error(
        'tokenizing the chat span by span differs from tokenizing the whole rendering under this chat template; ' +
          'the loss mask would be off',
      );
  }
  return { inputIds, lossMask };
}
