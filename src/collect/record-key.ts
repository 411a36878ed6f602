/**
 * Record keys: a hash of everything that decides a teacher's answer, so that the same key is
 * never paid for twice and a change of prompt or settings is never served from stale records.
 */
import { createHash } from 'node:crypto';
import type { Example } from '../data/schemas.js';
import { promptHash } from '../prompts/index.js';

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 24);
}

/** The parts of an example a teacher sees (its gold fields are not part of the prompt). */
export function exampleFingerprint(example: Example): string {
  return hash({
    id: example.id,
    dataset: example.dataset,
    question: example.question,
    context: example.context ?? null,
  });
}

export function decompositionKey(input: {
  example: Example;
  teacher: string;
  maxSubquestions: number;
  decoding: Record<string, unknown>;
}): string {
  return hash({
    kind: 'decompose',
    example: exampleFingerprint(input.example),
    teacher: input.teacher,
    prompt: promptHash('decompose'),
    maxSubquestions: input.maxSubquestions,
    decoding: input.decoding,
  });
}

export function solutionKey(input: {
  decompositionKey: string;
  teacher: string;
  decoding: Record<string, unknown>;
}): string {
  return hash({
    kind: 'solve',
    decomposition: input.decompositionKey,
    teacher: input.teacher,
    prompt: promptHash('solve'),
    decoding: input.decoding,
  });
}
