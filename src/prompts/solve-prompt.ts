/**
 * The static solve prompt: question + sub-questions in; the sub-answers one by one, then a
 * final line `The answer is: ...`.
 */
import { extractFinalAnswer } from '../data/metrics/index.js';
import type { ChatMessage } from '../data/schemas.js';
import { applyPromptStyle, type PromptStyle } from './prompt-style.js';
import { flattenLine, readItems, renderNumbered, renderQuestionBlock } from './prompt-text.js';

export const ANSWER_PREFIX = 'The answer is:';

export interface AnsweredSubquestion {
  subquestion: string;
  answer: string;
}

export interface SolvePromptInput {
  question: string;
  context?: string;
  subquestions: readonly string[];
  /** Sub-questions already answered (their answers are given, not asked again). */
  previous?: readonly AnsweredSubquestion[];
}

export const solveSystemPrompt = [
  'You answer a question by answering its sub-questions one by one.',
  'Answer each sub-question on its own numbered line, like "1. ...", using the context and the earlier answers;',
  '#1, #2, ... in a sub-question stand for the answers of sub-questions 1, 2, ...',
  `Then write the final answer to the question on the last line, as: ${ANSWER_PREFIX} <answer>`,
  'If there are no sub-questions, answer the question directly on that last line.',
].join('\n');

/** `compact` style: the user message only (no system message). */
export function renderSolvePrompt(input: SolvePromptInput, style: PromptStyle = 'instruct'): ChatMessage[] {
  const parts = [renderQuestionBlock(input.question, input.context)];
  if (input.previous !== undefined && input.previous.length > 0) {
    const answered = input.previous.map(
      (entry, index) => `${index + 1}. ${flattenLine(entry.subquestion)} = ${flattenLine(entry.answer)}`,
    );
    parts.push(`Already answered:\n${answered.join('\n')}`);
  }
  parts.push(
    input.subquestions.length === 0
      ? 'Sub-questions: none'
      : `Sub-questions:\n${renderNumbered(input.subquestions)}`,
  );
  return applyPromptStyle(
    [
      { role: 'system', content: solveSystemPrompt },
      { role: 'user', content: parts.join('\n\n') },
    ],
    style,
  );
}

/** The assistant target: `1. a\n2. b\nThe answer is: X`. */
export function renderSolution(subanswers: readonly string[], answer: string): string {
  const lines = subanswers.length === 0 ? [] : [renderNumbered(subanswers)];
  lines.push(`${ANSWER_PREFIX} ${flattenLine(answer)}`);
  return lines.join('\n');
}

export interface ParsedSolution {
  subanswers: string[];
  /** The final answer; `undefined` when the text has none. */
  answer: string | undefined;
  warnings: string[];
}

const answerLinePattern = /^\s*(?:the\s+)?(?:final\s+)?answer\s+is\b/i;
const answerPhrasePattern = /\banswer\s+is\b/i;

/**
 * The final answer of a solution text: the metrics module's `extractFinalAnswer` (the last
 * `The answer is: X`, cleaned) when the text has that phrase; otherwise the last line when it
 * is short and not a numbered sub-answer, with a warning; otherwise none.
 */
export function extractAnswerLine(text: string): { answer: string | undefined; warning?: string } {
  if (answerPhrasePattern.test(text.replace(/\*\*/g, ''))) {
    const answer = extractFinalAnswer(text);
    if (answer !== '') return { answer };
  }
  const last = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
  if (last !== undefined && last.length <= 80 && readItems(last).items.length === 0) {
    return {
      answer: extractFinalAnswer(last),
      warning: `no "${ANSWER_PREFIX}" line; took the last line as the answer`,
    };
  }
  return { answer: undefined, warning: `no "${ANSWER_PREFIX}" line` };
}

/** Reads the numbered sub-answers and the final answer; `count` is the number of sub-questions. */
export function parseSolution(text: string, count: number): ParsedSolution {
  const warnings: string[] = [];
  const body = text
    .split(/\r?\n/)
    .filter((line) => !answerLinePattern.test(line.replace(/\*\*/g, '')))
    .join('\n');
  const subanswers = readItems(body).items.map((item) => item.text);
  if (subanswers.length !== count) {
    warnings.push(`expected ${count} sub-answers, found ${subanswers.length}`);
  }
  const { answer, warning } = extractAnswerLine(text);
  if (warning !== undefined) warnings.push(warning);
  return { subanswers: subanswers.slice(0, count), answer, warnings };
}
