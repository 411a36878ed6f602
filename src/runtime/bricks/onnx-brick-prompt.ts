/**
 * Prompt building for an ONNX brick: the chat a method's call renders (in the prompt style the
 * brick was trained with), its tokens through the tokenizer's chat template with the assistant
 * turn opened, and the call's token budget within the model's context.
 */
import type { ChatMessage } from '../../data/schemas.js';
import {
  type PromptStyle,
  renderDecomposePrompt,
  renderNextSubquestionPrompt,
  renderSolvePrompt,
} from '../../prompts/index.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { DecomposeInput, NextSubquestionInput, SolveInput } from './brick.js';
import type { BatchInput, BatchMethod } from './onnx-brick-batch.js';

/** The chat a method's call completes, rendered in the brick's prompt style. */
export function methodMessages(method: BatchMethod, input: BatchInput, style: PromptStyle): ChatMessage[] {
  if (method === 'decompose') return renderDecomposePrompt(input as DecomposeInput, style);
  if (method === 'nextSubquestion') return renderNextSubquestionPrompt(input as NextSubquestionInput, style);
  return renderSolvePrompt(input as SolveInput, style);
}

/** The chat's tokens, rendered with the chat template, assistant turn opened. */
export function chatPromptTokens(tokenizer: Tokenizer, messages: readonly ChatMessage[]): number[] {
  return tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }), {
    addSpecialTokens: false,
  });
}

export interface BudgetRequest {
  promptLength: number;
  /** The tokens the call asks for (the request's, else the brick's, the model's or dnc's default). */
  requested: number;
  /** The model's context length, when its config names one. */
  context: number | undefined;
}

/** A call's token budget, cut to what the context leaves, with a warning when it was cut. */
export function tokenBudget(request: BudgetRequest): { budget: number; warnings: string[] } {
  const { promptLength, context } = request;
  const warnings: string[] = [];
  let budget = request.requested;
  if (context !== undefined && promptLength + budget > context) {
    budget = Math.max(1, context - promptLength);
    warnings.push(
      promptLength >= context
        ? `the prompt (${promptLength} tokens) is longer than the model's ${context}-token context; the answer is unreliable`
        : `the prompt (${promptLength} tokens) leaves ${budget} of the ${context}-token context for the answer`,
    );
  }
  return { budget, warnings };
}
