import { describe, expect, it } from 'vitest';
import {
  parseSubquestions,
  renderDecomposePrompt,
  renderDecomposition,
  promptHash,
} from '../../src/prompts/index.js';

describe('renderDecomposePrompt', () => {
  it('puts the maximum in the system message and the context before the question', () => {
    const messages = renderDecomposePrompt({ question: 'Who?', context: 'Some text.', maxSubquestions: 3 });
    expect(messages.map((message) => message.role)).toEqual(['system', 'user']);
    expect(messages[0]!.content).toContain('at most 3 sub-questions');
    expect(messages[0]!.content).toContain('No decomposition.');
    expect(messages[1]!.content).toBe('Context:\nSome text.\n\nQuestion: Who?');
  });

  it('leaves the context out when there is none', () => {
    expect(renderDecomposePrompt({ question: 'Q?', maxSubquestions: 2 })[1]!.content).toBe('Question: Q?');
  });
});

describe('renderDecomposition and parseSubquestions', () => {
  it('round-trips a list and the empty decomposition', () => {
    const list = ['Who founded #1?', 'What is 3 + 4?'];
    expect(renderDecomposition(list)).toBe('1. Who founded #1?\n2. What is 3 + 4?');
    expect(parseSubquestions(renderDecomposition(list), 6)).toMatchObject({
      subquestions: list,
      kind: 'subquestions',
      warnings: [],
    });
    expect(renderDecomposition([])).toBe('No decomposition.');
    expect(parseSubquestions('No decomposition.', 6)).toMatchObject({
      subquestions: [],
      kind: 'no-decomposition',
    });
  });

  it.each([
    ['1) A?\n2) B?', ['A?', 'B?']],
    ['Q1: A?\nQ2: B?', ['A?', 'B?']],
    ['Sub-question 1: A?\n\nSub-question 2: B?', ['A?', 'B?']],
    ['- A?\n* B?\n• C?', ['A?', 'B?', 'C?']],
    ['Here are the sub-questions:\n\n1. A?\n2. B?\nHope this helps.', ['A?', 'B?']],
    ['**1.** **A?**\n2. "B?"', ['A?', 'B?']],
    ['["A?", "B?"]', ['A?', 'B?']],
    ['{ "subquestions": ["A?", "B?"] }', ['A?', 'B?']],
    ['```json\n{"subquestions": ["A?"]}\n```', ['A?']],
  ])('reads %j', (text, expected) => {
    expect(parseSubquestions(text, 6).subquestions).toEqual(expected);
  });

  it('warns about preamble lines it ignored', () => {
    expect(parseSubquestions('Sure!\n1. A?', 6).warnings.join(' ')).toContain('ignored 1 line');
  });

  it('truncates past the maximum and says so', () => {
    const parsed = parseSubquestions('1. A?\n2. B?\n3. C?', 2);
    expect(parsed.subquestions).toEqual(['A?', 'B?']);
    expect(parsed.truncated).toBe(true);
    expect(parsed.warnings[0]).toContain('more than the maximum 2');
  });

  it('reports text without sub-questions as unparseable', () => {
    const parsed = parseSubquestions('I cannot help with that', 6);
    expect(parsed.kind).toBe('unparseable');
    expect(parsed.subquestions).toEqual([]);
  });

  it('does not mistake a decimal number at a line start for a list item', () => {
    expect(parseSubquestions('3.5 apples are left\n1. A?', 6).subquestions).toEqual(['A?']);
  });
});

describe('promptHash', () => {
  it('is stable and differs between prompt kinds', () => {
    expect(promptHash('decompose')).toMatch(/^[0-9a-f]{16}$/);
    expect(promptHash('decompose')).toBe(promptHash('decompose'));
    expect(new Set([promptHash('decompose'), promptHash('solve'), promptHash('next-subquestion')]).size).toBe(
      3,
    );
  });
});
