/** Public API of the synthetic worlds (hops and math) and their reference expert. */
import type { Example } from '../data/schemas.js';
import { generateHopsExamples } from './hops/generator.js';
import { generateMathExamples } from './math/generator.js';
import type { SplitName, WorldName } from './types.js';

export type { SplitName, WorldName } from './types.js';
export { splitNames, worldNames } from './types.js';
export type { ReferenceExpert, StepInput, StepResult } from './reference-expert.js';
export { createReferenceExpert } from './reference-expert.js';
export { HOPS_WORLD_SEED } from './hops/knowledge-base.js';

/** Deterministic: the same options always give the same examples. */
export function generateExamples(options: {
  world: WorldName;
  n: number;
  seed: number;
  split: SplitName;
}): Example[] {
  const { world, ...rest } = options;
  return world === 'hops' ? generateHopsExamples(rest) : generateMathExamples(rest);
}
