import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  PROMPT_FORMAT_VERSION,
  detectPromptStyle,
  promptHash,
  renderDecomposePrompt,
  renderDecomposition,
  renderNextSubquestionPrompt,
  renderSolvePrompt,
} from '../../src/prompts/index.js';

const input = { question: 'Who founded Pladro Group?', context: 'Some text.', maxSubquestions: 3 };
const previous = [{ subquestion: 'Who founded X?', answer: 'Ann' }];

describe('prompt styles', () => {
  it('compact prompts are the instruct prompts without the system message, for every prompt kind', () => {
    const pairs = [
      [renderDecomposePrompt(input), renderDecomposePrompt(input, 'compact')],
      [
        renderSolvePrompt({ ...input, subquestions: ['Who founded Pladro Group?'], previous }),
        renderSolvePrompt({ ...input, subquestions: ['Who founded Pladro Group?'], previous }, 'compact'),
      ],
      [
        renderNextSubquestionPrompt({ ...input, previous }),
        renderNextSubquestionPrompt({ ...input, previous }, 'compact'),
      ],
    ];
    for (const [instruct, compact] of pairs) {
      expect(instruct!.map((message) => message.role)).toEqual(['system', 'user']);
      expect(compact).toEqual([instruct![1]]);
    }
    expect(renderDecomposePrompt(input, 'instruct')).toEqual(renderDecomposePrompt(input));
  });

  it('hashes compact templates apart from instruct ones and keeps the instruct hashes as they were', () => {
    for (const kind of ['decompose', 'solve', 'next-subquestion'] as const) {
      expect(promptHash(kind, 'compact')).toMatch(/^[0-9a-f]{16}$/);
      expect(promptHash(kind, 'compact')).not.toBe(promptHash(kind));
      expect(promptHash(kind, 'instruct')).toBe(promptHash(kind));
    }
    // The instruct hash is computed exactly as before styles existed, so earlier record keys stay valid.
    const template = [
      renderDecomposePrompt({ question: '{question}', context: '{context}', maxSubquestions: 9 }),
      renderDecomposition(['{a}', '{b}']),
      renderDecomposition([]),
    ];
    const before = createHash('sha256')
      .update(JSON.stringify({ kind: 'decompose', version: PROMPT_FORMAT_VERSION, template }))
      .digest('hex')
      .slice(0, 16);
    expect(promptHash('decompose')).toBe(before);
  });

  it('detects the style a training set is written in', () => {
    const instruct = {
      messages: [...renderDecomposePrompt(input), { role: 'assistant' as const, content: 'x' }],
    };
    const compact = {
      messages: [...renderDecomposePrompt(input, 'compact'), { role: 'assistant' as const, content: 'x' }],
    };
    expect(detectPromptStyle([instruct, instruct])).toBe('instruct');
    expect(detectPromptStyle([compact, compact])).toBe('compact');
    expect(detectPromptStyle([instruct, compact])).toBe('mixed');
  });
});
