/**
 * Brick spec strings (DESIGN.md "Brick spec"): `reference`, `gold`, `openai:MODEL`, or a
 * path to a brick directory. Parsing is pure; checking that a directory exists is the loader's job.
 */
import { brickSpecSchema } from '../../data/schemas.js';
import { formatZodError } from '../../data/zod-format.js';
import type { BrickKind } from './brick.js';

export interface ParsedBrickSpec {
  spec: string;
  kind: BrickKind;
  /** The remote model name (`openai:MODEL`). */
  model?: string;
  /** The brick directory (a path spec). */
  path?: string;
}

const specHelp =
  'use `reference`, `gold`, `openai:MODEL` (e.g. openai:gpt-4o-mini) or a brick directory path';

export class BrickSpecError extends Error {
  constructor(spec: string, problem: string) {
    super(`brick spec '${spec}': ${problem}`);
    this.name = 'BrickSpecError';
  }
}

export function parseBrickSpec(spec: unknown): ParsedBrickSpec {
  const checked = brickSpecSchema.safeParse(spec);
  if (!checked.success)
    throw new BrickSpecError(String(spec), `${formatZodError(checked.error)}; ${specHelp}`);
  const text = checked.data.trim();
  if (text === 'reference' || text === 'gold') return { spec: text, kind: text };
  const remote = /^openai:(.*)$/.exec(text);
  if (remote !== null) {
    const model = remote[1].trim();
    if (model === '') throw new BrickSpecError(text, `no model after \`openai:\`; ${specHelp}`);
    return { spec: text, kind: 'openai', model };
  }
  if (/^[a-z][a-z0-9+.-]*:(?![\\/])/i.test(text) && !/^[a-z]:[\\/]/i.test(text))
    throw new BrickSpecError(text, `unknown brick provider '${text.split(':')[0]}'; ${specHelp}`);
  return { spec: text, kind: 'onnx', path: text };
}
