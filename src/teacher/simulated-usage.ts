/**
 * Token usage as a chat model would count it, for bricks that never tokenise (the reference
 * expert): the rendered prompt messages in, the rendered answer out. Each message costs its
 * content plus a small framing overhead, as in OpenAI's chat token accounting.
 */
import type { ChatMessage, Usage } from '../data/schemas.js';
import { estimateTokens } from './pricing.js';

/** Tokens of framing per chat message (role and separators), and for priming the reply. */
const tokensPerMessage = 4;
const tokensPerReply = 3;

export function estimateChatUsage(messages: readonly ChatMessage[], output: string): Usage {
  const inputTokens =
    messages.reduce((sum, message) => sum + estimateTokens(message.content) + tokensPerMessage, 0) +
    tokensPerReply;
  return { inputTokens, outputTokens: estimateTokens(output) };
}
