/**
 * Teacher specs → teachers: `gold`, `reference`, `replay:FILE`, `openai:MODEL`.
 */
import { UserError } from '../errors/user-error.js';
import { createReferenceExpert } from '../worlds/index.js';
import { GoldTeacher } from '../teacher/gold-teacher.js';
import { OpenAITeacher } from '../teacher/openai-teacher.js';
import type { OpenAITeacherConfig } from '../teacher/openai-teacher.js';
import type { PriceTable } from '../teacher/pricing.js';
import { ReferenceTeacher } from './reference-teacher.js';
import { ReplayTeacher } from '../teacher/replay-teacher.js';
import type { Teacher } from '../teacher/types.js';

export const teacherSpecHelp = 'reference, gold, replay:FILE or openai:MODEL';

export interface CreateTeacherOptions {
  prices?: PriceTable;
  /** Settings of an `openai:MODEL` teacher (the model comes from the spec). */
  openai?: Omit<OpenAITeacherConfig, 'model'>;
}

export async function createTeacher(spec: string, options: CreateTeacherOptions = {}): Promise<Teacher> {
  if (spec === 'reference') return new ReferenceTeacher(createReferenceExpert(), options.prices);
  // The gold teacher solves a synthetic-world question through the reference expert when its gold lacks sub-answers.
  if (spec === 'gold') {
    // Built on first use: a real dataset with gold sub-answers never needs the worlds' knowledge base.
    let reference: ReferenceTeacher | undefined;
    const solver = (): ReferenceTeacher =>
      (reference ??= new ReferenceTeacher(createReferenceExpert(), options.prices));
    return new GoldTeacher({
      canSolve: (example) => solver().canSolve(example),
      solve: (example, subquestions, solveOptions) => solver().solve(example, subquestions, solveOptions),
    });
  }
  if (spec.startsWith('replay:')) {
    const file = spec.slice('replay:'.length);
    if (file === '')
      throw new UserError(
        '`replay:` needs a file: replay:runs/x/collect/decompositions.jsonl (or its directory)',
      );
    return ReplayTeacher.open(file);
  }
  if (spec.startsWith('openai:')) {
    const model = spec.slice('openai:'.length);
    if (model === '') throw new UserError('`openai:` needs a model name, for example openai:gpt-4o-mini');
    return new OpenAITeacher({ ...options.openai, prices: options.openai?.prices ?? options.prices, model });
  }
  throw new UserError(`unknown teacher '${spec}': use ${teacherSpecHelp}`);
}
