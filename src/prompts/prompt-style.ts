/**
 * Prompt styles. `instruct` (the default) opens every prompt with a system message that spells
 * out the task: what a remote teacher or a fine-tuning service needs. `compact` drops it: a small
 * local student trained on one role learns the task from its examples, so the ~100-token
 * instruction would only cost it context, training time and capacity. The user message and the
 * assistant target are the same in both styles, so one training file serves both.
 */
import { z } from 'zod';
import type { ChatExample, ChatMessage } from '../data/schemas.js';

export const promptStyles = ['instruct', 'compact'] as const;

export type PromptStyle = (typeof promptStyles)[number];

export const promptStyleSchema = z.enum(promptStyles, {
  error: "the prompt format must be 'instruct' (system message + question) or 'compact' (question only)",
});

export const defaultPromptStyle: PromptStyle = 'instruct';

/** The messages of a prompt in a style: `compact` leaves out the system message. */
export function applyPromptStyle(messages: readonly ChatMessage[], style: PromptStyle): ChatMessage[] {
  return style === 'compact' ? messages.filter((message) => message.role !== 'system') : [...messages];
}

/**
 * The style a chat training set is written in: `instruct` when every example opens with a system
 * message, `compact` when none has one, `mixed` otherwise.
 */
export function detectPromptStyle(examples: readonly ChatExample[]): PromptStyle | 'mixed' {
  const withSystem = examples.filter((example) =>
    example.messages.some((message) => message.role === 'system'),
  ).length;
  if (withSystem === examples.length) return 'instruct';
  return withSystem === 0 ? 'compact' : 'mixed';
}

/** A training example in a style (the assistant target is the same in both). */
export function applyPromptStyleToExample(example: ChatExample, style: PromptStyle): ChatExample {
  return { messages: applyPromptStyle(example.messages, style) };
}
