/**
 * Turns a chat example into the trainer's input: token ids and a loss mask that is 1 exactly on
 * the assistant's content tokens and the `<|end|>` that closes each assistant turn.
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
