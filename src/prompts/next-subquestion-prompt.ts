/**
 * The dynamic (self-ask) decomposition prompt: the decomposer sees the sub-questions answered
 * so far and proposes the next one (`Next: ...`) or stops (`Done.`).
 */
import type { ChatMessage } from '../data/schemas.js';
import { applyPromptStyle, type PromptStyle } from './prompt-style.js';
import { cleanItem, flattenLine, renderQuestionBlock } from './prompt-text.js';
import type { AnsweredSubquestion } from './solve-prompt.js';

export const NEXT_PREFIX = 'Next:';
export const DONE = 'Done.';

export interface NextSubquestionPromptInput {
  question: string;
  context?: string;
  previous: readonly AnsweredSubquestion[];
  maxSubquestions: number;
}

export function nextSubquestionSystemPrompt(maxSubquestions: number): string {
  return [
    'You break a question into simple sub-questions, one at a time.',
    'You see the question and the sub-questions answered so far.',
    `Write the next sub-question on one line as "${NEXT_PREFIX} <sub-question>"; it asks for one fact or one operation.`,
    'It may refer to earlier answers as #1, #2, and so on.',
    `When the answers so far are enough to answer the question, write exactly: ${DONE}`,
    `Ask at most ${maxSubquestions} sub-questions in total.`,
  ].join('\n');
}

/** `compact` style: the user message only (no system message). */
export function renderNextSubquestionPrompt(
  input: NextSubquestionPromptInput,
  style: PromptStyle = 'instruct',
): ChatMessage[] {
  const answered =
    input.previous.length === 0
      ? 'Answered so far: none'
      : `Answered so far:\n${input.previous
          .map(
            (entry, index) =>
              `${index + 1}. ${flattenLine(entry.subquestion)} = ${flattenLine(entry.answer)}`,
          )
          .join('\n')}`;
  return applyPromptStyle(
    [
      { role: 'system', content: nextSubquestionSystemPrompt(input.maxSubquestions) },
      { role: 'user', content: `${renderQuestionBlock(input.question, input.context)}\n\n${answered}` },
    ],
    style,
  );
}

/** The assistant target: `Next: ...`, or `Done.` when `subquestion` is null. */
export function renderNextSubquestion(subquestion: string | null): string {
  return subquestion === null ? DONE : `${NEXT_PREFIX} ${flattenLine(subquestion)}`;
}

export interface ParsedNextSubquestion {
  /** The next sub-question, or null for `Done.` (also when nothing usable was found; see warnings). */
  subquestion: string | null;
  done: boolean;
  warnings: string[];
}

const nextPattern =
  /^\s*(?:\*\*)?(?:next(?:\s+sub-?question)?|follow[- ]up(?:\s+question)?)\s*(?:\*\*)?\s*:\s*(.+)$/i;
const donePattern = /^\W*(?:done|no more (?:sub-?)?questions|finished)\b/i;

/** Reads `Next: ...` / `Done.`; tolerant of markdown, `Follow-up:` and a bare question line. */
export function parseNextSubquestion(text: string): ParsedNextSubquestion {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  for (const line of lines) {
    const match = nextPattern.exec(line);
    if (match !== null) {
      const subquestion = cleanItem(match[1] ?? '');
      if (subquestion !== '') return { subquestion, done: false, warnings: [] };
    }
    if (donePattern.test(line)) return { subquestion: null, done: true, warnings: [] };
  }
  const question = lines.find((line) => line.endsWith('?'));
  if (question !== undefined) {
    return {
      subquestion: cleanItem(question),
      done: false,
      warnings: [`no "${NEXT_PREFIX}" prefix; took a question line`],
    };
  }
  return { subquestion: null, done: false, warnings: [`neither "${NEXT_PREFIX} ..." nor "${DONE}" found`] };
}
