/**
 * The static decomposition prompt: question (and context) in, numbered single-step
 * sub-questions out, one a line; `No decomposition.` for a one-step question.
 */
import type { ChatMessage } from '../data/schemas.js';
import { applyPromptStyle, type PromptStyle } from './prompt-style.js';
import {
  cleanItem,
  flattenLine,
  readItems,
  renderNumbered,
  renderQuestionBlock,
  tryParseJson,
} from './prompt-text.js';

export const NO_DECOMPOSITION = 'No decomposition.';

export interface DecomposePromptInput {
  question: string;
  context?: string;
  maxSubquestions: number;
}

export function decomposeSystemPrompt(maxSubquestions: number): string {
  return [
    'You break a question into simple sub-questions that lead to its answer.',
    'Each sub-question asks for one fact or one operation.',
    `Write at most ${maxSubquestions} sub-questions, numbered, one a line, like "1. ...".`,
    'A later sub-question may refer to the answer of an earlier one as #1, #2, and so on.',
    'Do not answer the sub-questions.',
    `If the question needs only one step, write exactly: ${NO_DECOMPOSITION}`,
  ].join('\n');
}

/** `compact` style: the question block only (no system message). */
export function renderDecomposePrompt(
  input: DecomposePromptInput,
  style: PromptStyle = 'instruct',
): ChatMessage[] {
  return applyPromptStyle(
    [
      { role: 'system', content: decomposeSystemPrompt(input.maxSubquestions) },
      { role: 'user', content: renderQuestionBlock(input.question, input.context) },
    ],
    style,
  );
}

/** The assistant target: `1. ...\n2. ...`, or `No decomposition.` for an empty list. */
export function renderDecomposition(subquestions: readonly string[]): string {
  return subquestions.length === 0 ? NO_DECOMPOSITION : renderNumbered(subquestions);
}

export interface ParsedSubquestions {
  subquestions: string[];
  warnings: string[];
  /** What was found: a list, an explicit "No decomposition", or nothing usable. */
  kind: 'subquestions' | 'no-decomposition' | 'unparseable';
  /** True when more than `max` sub-questions were found and the extra ones were dropped. */
  truncated: boolean;
}

const noDecompositionPattern = /^\W*no decomposition\b/i;

function fromJson(value: unknown): string[] | undefined {
  const list = Array.isArray(value)
    ? value
    : typeof value === 'object' &&
        value !== null &&
        Array.isArray((value as { subquestions?: unknown }).subquestions)
      ? (value as { subquestions: unknown[] }).subquestions
      : undefined;
  if (list === undefined || !list.every((item) => typeof item === 'string')) return undefined;
  return (list as string[]).map((item) => cleanItem(flattenLine(item))).filter((item) => item !== '');
}

function finish(found: string[], max: number, warnings: string[]): ParsedSubquestions {
  const truncated = found.length > max;
  if (truncated)
    warnings.push(`found ${found.length} sub-questions, more than the maximum ${max}; kept the first ${max}`);
  return {
    subquestions: found.slice(0, max),
    warnings,
    kind: found.length === 0 ? 'no-decomposition' : 'subquestions',
    truncated,
  };
}

/**
 * Reads sub-questions from a teacher's or a student's text. Tolerant of `1.`, `1)`, `Q1:`,
 * `Sub-question 1:`, bullets, blank lines, preamble text, "No decomposition", a JSON array
 * or `{ "subquestions": [...] }`; every repair it makes is reported in `warnings`.
 */
export function parseSubquestions(text: string, max: number): ParsedSubquestions {
  const warnings: string[] = [];
  const json = tryParseJson(text);
  const fromJsonList = json === undefined ? undefined : fromJson(json);
  if (fromJsonList !== undefined) return finish(fromJsonList, max, warnings);
  if (json !== undefined)
    warnings.push('JSON output without a `subquestions` list of strings; read it as text');

  const { items, ignored } = readItems(text);
  if (items.length === 0) {
    if (text.split(/\r?\n/).some((line) => noDecompositionPattern.test(line)))
      return finish([], max, warnings);
    const lines = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '');
    // One bare line that is a question is a one-item list written without a number.
    if (lines.length === 1 && lines[0]!.endsWith('?')) {
      warnings.push('one sub-question without a number');
      return finish([cleanItem(lines[0]!)], max, warnings);
    }
    return {
      subquestions: [],
      warnings: [...warnings, 'no numbered sub-questions and no "No decomposition."'],
      kind: 'unparseable',
      truncated: false,
    };
  }
  if (ignored.length > 0)
    warnings.push(`ignored ${ignored.length} line(s) that are not numbered sub-questions`);
  const numbers = items.map((item) => item.number);
  if (
    numbers.every((number) => number !== undefined) &&
    numbers.some((number, index) => number !== index + 1)
  ) {
    warnings.push('sub-questions are not numbered 1, 2, 3, ...; kept them in the order written');
  }
  return finish(
    items.map((item) => item.text),
    max,
    warnings,
  );
}
