/**
 * A stable hash of a prompt template and its format version, part of every record key: when
 * the wording of a prompt changes, earlier answers are no longer reused for it.
 */
import { createHash } from 'node:crypto';
import { renderDecomposePrompt, renderDecomposition } from './decompose-prompt.js';
import { renderNextSubquestion, renderNextSubquestionPrompt } from './next-subquestion-prompt.js';
import { type PromptStyle } from './prompt-style.js';
import { renderSolution, renderSolvePrompt } from './solve-prompt.js';

/** Bump when a parser or target format changes meaning without the template text changing. */
export const PROMPT_FORMAT_VERSION = 1;

export type PromptKind = 'decompose' | 'solve' | 'next-subquestion';

// The template is hashed by rendering it with placeholder values: any change to its text changes the hash.
function renderTemplate(kind: PromptKind, style: PromptStyle): unknown {
  const slot = { question: '{question}', context: '{context}' };
  const previous = [{ subquestion: '{subquestion}', answer: '{answer}' }];
  switch (kind) {
    case 'decompose':
      return [
        renderDecomposePrompt({ ...slot, maxSubquestions: 9 }, style),
        renderDecomposition(['{a}', '{b}']),
        renderDecomposition([]),
      ];
    case 'solve':
      return [
        renderSolvePrompt({ ...slot, subquestions: ['{a}'], previous }, style),
        renderSolution(['{x}'], '{y}'),
      ];
    case 'next-subquestion':
      return [
        renderNextSubquestionPrompt({ ...slot, previous, maxSubquestions: 9 }, style),
        renderNextSubquestion('{a}'),
        renderNextSubquestion(null),
      ];
  }
}

const cache = new Map<string, string>();

/**
 * 16 hex characters of sha256 over the kind, the format version and the rendered template (and
 * the style when it is not `instruct`, so the instruct hashes of earlier records stay valid).
 */
export function promptHash(kind: PromptKind, style: PromptStyle = 'instruct'): string {
  const key = `${kind}:${style}`;
  let hash = cache.get(key);
  if (hash === undefined) {
    const hashed = { kind, version: PROMPT_FORMAT_VERSION, template: renderTemplate(kind, style) };
    hash = createHash('sha256')
      .update(JSON.stringify(style === 'instruct' ? hashed : { ...hashed, style }))
      .digest('hex')
      .slice(0, 16);
    cache.set(key, hash);
  }
  return hash;
}
