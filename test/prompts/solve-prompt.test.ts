import { describe, expect, it } from 'vitest';
import {
  parseNextSubquestion,
  parseSolution,
  renderNextSubquestion,
  renderNextSubquestionPrompt,
  renderSolution,
  renderSolvePrompt,
} from '../../src/prompts/index.js';

describe('solve prompt', () => {
  it('lists the sub-questions and earlier answers in the user message', () => {
    const [system, user] = renderSolvePrompt({
      question: 'Q?',
      subquestions: ['A?', 'B with #1?'],
      previous: [{ subquestion: 'Z?', answer: '4' }],
    });
    expect(system!.content).toContain('The answer is:');
    expect(user!.content).toBe(
      'Question: Q?\n\nAlready answered:\n1. Z? = 4\n\nSub-questions:\n1. A?\n2. B with #1?',
    );
  });

  it('round-trips a solution', () => {
    const text = renderSolution(['12', 'Paris'], 'Paris');
    expect(text).toBe('1. 12\n2. Paris\nThe answer is: Paris');
    expect(parseSolution(text, 2)).toEqual({ subanswers: ['12', 'Paris'], answer: 'Paris', warnings: [] });
  });

  it('reads a solution with markdown and a trailing period, and warns on a count mismatch', () => {
    const parsed = parseSolution('Let me see.\n1) 12\n**The answer is: 1,250.**', 2);
    expect(parsed.subanswers).toEqual(['12']);
    expect(parsed.answer).toBe('1,250');
    expect(parsed.warnings).toEqual(['expected 2 sub-answers, found 1']);
  });

  it('does not take a numbered sub-answer mentioning "answer is" as the final line', () => {
    expect(parseSolution('1. The answer is 3\n2. 5\nThe answer is: 8', 2)).toMatchObject({
      subanswers: ['The answer is 3', '5'],
      answer: '8',
    });
  });

  it('has no answer when the text has none', () => {
    const parsed = parseSolution('1. 3\n2. 4', 2);
    expect(parsed.answer).toBeUndefined();
    expect(parsed.warnings.join(' ')).toContain('no "The answer is:" line');
  });
});

describe('dynamic next-sub-question prompt', () => {
  it('shows earlier answers and round-trips its target', () => {
    const [, user] = renderNextSubquestionPrompt({
      question: 'Q?',
      previous: [{ subquestion: 'A?', answer: '1' }],
      maxSubquestions: 4,
    });
    expect(user!.content).toBe('Question: Q?\n\nAnswered so far:\n1. A? = 1');
    expect(parseNextSubquestion(renderNextSubquestion('What is #1 + 2?'))).toEqual({
      subquestion: 'What is #1 + 2?',
      done: false,
      warnings: [],
    });
    expect(parseNextSubquestion(renderNextSubquestion(null))).toEqual({
      subquestion: null,
      done: true,
      warnings: [],
    });
  });

  it('accepts a Follow-up line and a bare question', () => {
    expect(parseNextSubquestion('Follow up: Who is B?').subquestion).toBe('Who is B?');
    expect(parseNextSubquestion('Who is C?').warnings).toHaveLength(1);
    expect(parseNextSubquestion('hmm').subquestion).toBeNull();
  });
});
