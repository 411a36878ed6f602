/**
 * `replay:FILE`: answers recorded by an earlier collection (its `decompositions.jsonl`, or the
 * collection directory). Solutions come from the `solutions.jsonl` beside it. Nothing is
 * paid: each answer costs $0 and counts its original price as saved.
 */
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readJsonlAll } from '../data/jsonl.js';
import { decompositionRecordSchema, solutionRecordSchema } from '../data/schemas.js';
import type { DecompositionRecord, Example, SolutionRecord } from '../data/schemas.js';
import { TeacherUnsupportedError } from './errors.js';
import { localResult } from './local-result.js';
import type { DecomposeOptions, DecomposeResult, SolveResult, Teacher } from './types.js';

export class ReplayTeacher implements Teacher {
  readonly specificationVersion = 'v1';
  readonly id: string;
  readonly model: string;
  readonly deterministic = true;

  private constructor(
    readonly file: string,
    private readonly decompositions: Map<string, DecompositionRecord[]>,
    private readonly solutions: Map<string, SolutionRecord[]>,
  ) {
    this.id = `replay:${file}`;
    this.model = this.id;
  }

  /** Loads the ok records of an earlier collection (FILE or a directory holding decompositions.jsonl). */
  static async open(path: string): Promise<ReplayTeacher> {
    const isDirectory = await stat(path).then(
      (info) => info.isDirectory(),
      () => false,
    );
    const file = isDirectory ? join(path, 'decompositions.jsonl') : path;
    const decompositions = new Map<string, DecompositionRecord[]>();
    for (const record of await readJsonlAll(file, decompositionRecordSchema)) {
      if (record.status === 'ok')
        decompositions.set(record.exampleId, [...(decompositions.get(record.exampleId) ?? []), record]);
    }
    const solutions = new Map<string, SolutionRecord[]>();
    const solutionFile = join(dirname(file), 'solutions.jsonl');
    const hasSolutions = await stat(solutionFile).then(
      (info) => info.isFile(),
      () => false,
    );
    if (hasSolutions) {
      for (const record of await readJsonlAll(solutionFile, solutionRecordSchema)) {
        if (record.status === 'ok')
          solutions.set(record.exampleId, [...(solutions.get(record.exampleId) ?? []), record]);
      }
    }
    return new ReplayTeacher(path, decompositions, solutions);
  }

  decodingSettings(): Record<string, unknown> {
    return {};
  }

  async decompose(example: Example, options: DecomposeOptions): Promise<DecomposeResult> {
    const startedAt = performance.now();
    const sample = options.sample ?? 0;
    const record = this.decompositions.get(example.id)?.find((item) => (item.sample ?? 0) === sample);
    if (record === undefined) {
      throw new TeacherUnsupportedError(
        `${this.file} has no ok decomposition for example '${example.id}' (sample ${sample})`,
      );
    }
    if (record.subquestions.length > options.maxSubquestions) {
      throw new TeacherUnsupportedError(
        `the recorded decomposition of '${example.id}' has ${record.subquestions.length} sub-questions, more than --max-subquestions ${options.maxSubquestions}`,
      );
    }
    return {
      ...localResult(record.raw, startedAt, {
        usage: record.usage,
        savedUsd: record.costUsd + (record.savedUsd ?? 0),
      }),
      subquestions: record.subquestions,
    };
  }

  async solve(example: Example, subquestions: readonly string[]): Promise<SolveResult> {
    const startedAt = performance.now();
    const record = this.solutions
      .get(example.id)
      ?.find(
        (item) =>
          item.subquestions.length === subquestions.length &&
          item.subquestions.every((text, index) => text === subquestions[index]),
      );
    if (record === undefined) {
      throw new TeacherUnsupportedError(
        `no recorded solution of example '${example.id}' from these sub-questions beside ${this.file}`,
      );
    }
    return {
      ...localResult(record.raw, startedAt, {
        usage: record.usage,
        savedUsd: record.costUsd + (record.savedUsd ?? 0),
      }),
      subanswers: record.subanswers,
      answer: record.answer,
    };
  }
}
