/**
 * What a collection knows: every decomposition and solution record of its journals, and what
 * each example needs next. The synchronous and the batch drivers both follow `nextStep`, so
 * they ask the same questions under the same keys and produce the same records.
 */
import type { DecompositionRecord, Example, SolutionRecord } from '../data/schemas.js';
import type { Teacher } from '../teacher/types.js';
import { decompositionKey, solutionKey } from './record-key.js';

export interface CollectSettings {
  maxSubquestions: number;
  maxAttempts: number;
  filter: 'all' | 'correct';
  secondSample: boolean;
}

export type Step =
  | { kind: 'decompose'; example: Example; sample: number; key: string; attempt: number }
  | {
      kind: 'solve';
      example: Example;
      sample: number;
      key: string;
      attempt: number;
      decomposition: DecompositionRecord;
    }
  | { kind: 'done' };

type AnyRecord = DecompositionRecord | SolutionRecord;

class RecordIndex<T extends AnyRecord> {
  readonly byKey = new Map<string, T[]>();
  /** Failed requests (`error`) in this run: retried on the next run, not in this one. */
  readonly errorsThisRun = new Map<string, number>();

  add(record: T, thisRun: boolean): void {
    this.byKey.set(record.key, [...(this.byKey.get(record.key) ?? []), record]);
    if (thisRun && record.status === 'error')
      this.errorsThisRun.set(record.key, (this.errorsThisRun.get(record.key) ?? 0) + 1);
  }

  ok(key: string): T | undefined {
    return this.byKey.get(key)?.find((record) => record.status === 'ok');
  }

  invalidCount(key: string): number {
    return (this.byKey.get(key) ?? []).filter((record) => record.status === 'invalid').length;
  }

  attempts(key: string): number {
    return (this.byKey.get(key) ?? []).length;
  }

  last(key: string): T | undefined {
    return this.byKey.get(key)?.at(-1);
  }

  /** True when this key gets no more requests in this run. */
  exhausted(key: string, maxAttempts: number): boolean {
    return this.invalidCount(key) >= maxAttempts || (this.errorsThisRun.get(key) ?? 0) > 0;
  }
}

export class CollectionState {
  readonly decompositions = new RecordIndex<DecompositionRecord>();
  readonly solutions = new RecordIndex<SolutionRecord>();

  constructor(
    readonly teacher: Teacher,
    readonly settings: CollectSettings,
  ) {}

  /** Second samples only help a teacher that can answer differently. */
  get samples(): number {
    return this.settings.filter === 'correct' && this.settings.secondSample && !this.teacher.deterministic
      ? 2
      : 1;
  }

  decompositionKey(example: Example, sample: number): string {
    return decompositionKey({
      example,
      teacher: this.teacher.id,
      maxSubquestions: this.settings.maxSubquestions,
      decoding: this.teacher.decodingSettings({ sample }),
    });
  }

  solutionKey(decompositionKey: string): string {
    return solutionKey({
      decompositionKey,
      teacher: this.teacher.id,
      decoding: this.teacher.decodingSettings({ sample: 0 }),
    });
  }

  /** What `example` needs next: a decomposition, a solution, or nothing more in this run. */
  nextStep(example: Example): Step {
    for (let sample = 0; sample < this.samples; sample += 1) {
      const key = this.decompositionKey(example, sample);
      const decomposition = this.decompositions.ok(key);
      if (decomposition === undefined) {
        if (this.decompositions.exhausted(key, this.settings.maxAttempts)) return { kind: 'done' };
        return { kind: 'decompose', example, sample, key, attempt: this.decompositions.attempts(key) + 1 };
      }
      const answerKey = this.solutionKey(key);
      const solution = this.solutions.ok(answerKey);
      if (solution === undefined) {
        if (this.solutions.exhausted(answerKey, this.settings.maxAttempts)) return { kind: 'done' };
        return {
          kind: 'solve',
          example,
          sample,
          key: answerKey,
          attempt: this.solutions.attempts(answerKey) + 1,
          decomposition,
        };
      }
      if (solution.correct === true) return { kind: 'done' };
    }
    return { kind: 'done' };
  }

  /** The final state of an example's first decomposition, for the summary. */
  exampleStatus(example: Example): 'ok' | 'invalid' | 'error' {
    const key = this.decompositionKey(example, 0);
    if (this.decompositions.ok(key) !== undefined) return 'ok';
    return this.decompositions.last(key)?.status === 'invalid' ? 'invalid' : 'error';
  }

  /**
   * The (decomposition, solution) pairs kept for training, in example order: `all` keeps the
   * first sample's valid decomposition (and its solution when there is one); `correct` keeps the
   * first sample whose chain reached the gold answer.
   */
  kept(
    examples: readonly Example[],
  ): { example: Example; decomposition: DecompositionRecord; solution?: SolutionRecord }[] {
    const kept: { example: Example; decomposition: DecompositionRecord; solution?: SolutionRecord }[] = [];
    for (const example of examples) {
      for (let sample = 0; sample < this.samples; sample += 1) {
        const decomposition = this.decompositions.ok(this.decompositionKey(example, sample));
        if (decomposition === undefined) break;
        const solution = this.solutions.ok(this.solutionKey(decomposition.key));
        if (this.settings.filter === 'all') {
          kept.push({ example, decomposition, ...(solution === undefined ? {} : { solution }) });
          break;
        }
        if (solution?.correct === true) {
          kept.push({ example, decomposition, solution });
          break;
        }
      }
    }
    return kept;
  }
}
