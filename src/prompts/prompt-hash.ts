/**
 * A stable hash of a prompt template and its format version, part of every record key: when
 * the wording of a prompt changes, earlier answers are no longer reused for it.
 */
import { createHash } from 'node:crypto';
import { renderDecomposePrompt, renderDecomposition } from './decompose-prompt.js';
import { renderNextSubquestion, renderNextSubquestionPrompt } from './next-subquestion-prompt.js';
import { renderSolution, renderSolvePrompt } from './solve-prompt.js';

/** Bump when a parser or target format changes meaning without the template text changing. */
export const PROMPT_FORMAT_VERSION = 1;

export type PromptKind = 'decompose' | 'solve' | 'next-subquestion';

// The template is hashed by rendering it with placeholder values: any change to its text changes the hash.
function renderTemplate(kind: PromptKind): unknown {
  const slot = { question: '{question}', context: '{context}' };
  const previous = [{ subquestion: '{subquestion}', answer: '{answer}' }];
  switch (kind) {
    case 'decompose':
      return [
        renderDecomposePrompt({ ...slot, maxSubquestions: 9 }),
        renderDecomposition(['{a}', '{b}']),
        renderDecomposition([]),
      ];
    case 'solve':
      return [
        renderSolvePrompt({ ...slot, subquestions: ['{a}'], previous }),
        renderSolution(['{x}'], '{y}'),
      ];
    case 'next-subquestion':
      return [
        renderNextSubquestionPrompt({ ...slot, previous, maxSubquestions: 9 }),
        renderNextSubquestion('{a}'),
        renderNextSubquestion(null),
      ];
  }
}

const cache = new Map<PromptKind, string>();

/** 16 hex characters of sha256 over the kind, the format version and the rendered template. */
export function promptHash(kind: PromptKind): string {
  let hash = cache.get(kind);
  if (hash === undefined) {
    hash = createHash('sha256')
      .update(JSON.stringify({ kind, version: PROMPT_FORMAT_VERSION, template: renderTemplate(kind) }))
      .digest('hex')
      .slice(0, 16);
    cache.set(kind, hash);
  }
  return hash;
}
