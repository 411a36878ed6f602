/**
 * The collect stage: ask the teacher to decompose every example and to solve from its own
 * decomposition, journaling every answer (fsynced, append-only) so that a `kill -9` loses at
 * most the requests in flight and a rerun never pays for a key that is already `ok`. Then
 * write the training sets of the chosen filter.
 */
import { join } from 'node:path';
import pLimit from 'p-limit';
import { openJournal } from '../data/jsonl.js';
import type { Journal } from '../data/jsonl.js';
import { scoreAnswer } from '../data/metrics/index.js';
import { decompositionRecordSchema, solutionRecordSchema } from '../data/schemas.js';
import type { DecompositionRecord, Example, SolutionRecord } from '../data/schemas.js';
import type { Teacher } from '../teacher/types.js';
import { runBatchCollection } from './batch-driver.js';
import type { BatchOptions } from './batch-driver.js';
import { CollectionState } from './collection-state.js';
import type { CollectSettings, Step } from './collection-state.js';
import { decompositionFailure, decompositionRecord, solutionFailure, solutionRecord } from './records.js';
import { type RoleCounts, trainingFileNames, trainingSetCounts, writeTrainingSets } from './training-sets.js';

export const journalFileNames = {
  decompositions: 'decompositions.jsonl',
  solutions: 'solutions.jsonl',
} as const;

export type Scorer = (prediction: string, example: Example) => { correct: boolean; score: number };

export interface CollectOptions {
  examples: readonly Example[];
  teacher: Teacher;
  outDir: string;
  settings: CollectSettings;
  concurrency: number;
  /** Use the OpenAI Batch API (an `openai:MODEL` teacher only). */
  batch?: BatchOptions;
  score?: Scorer;
  /** Called when an example needs nothing more (synchronous mode) and after each batch (batch mode). */
  onProgress?: (event: { done: number; total: number; costUsd: number }) => void;
}

export interface CollectSummary {
  total: number;
  ok: number;
  invalid: number;
  error: number;
  /** Keys served from the journal instead of the teacher (decompositions and solutions). */
  skippedCached: number;
  /** Requests sent to the teacher in this run (HTTP requests with retries for openai, batch lines in batch mode, calls for local teachers). */
  requests: number;
  costUsd: number;
  savedUsd: number;
  teacher: string;
  simulated: boolean;
  filter: 'all' | 'correct';
  solutions: { ok: number; correct: number; invalid: number; error: number };
  kept: { decomposer: number; solver: number };
  /** Examples each training set left out, by reason (see training-sets.ts). */
  dropped: { decomposer: RoleCounts['dropped']; solver: RoleCounts['dropped'] };
  files: { decompositions: string; solutions: string; decomposer: string; solver: string };
  batches?: number;
}

/** Shared by both drivers: journals a record, then updates the state (durable first). */
export interface Recorder {
  state: CollectionState;
  score: Scorer;
  addDecomposition(record: DecompositionRecord): Promise<void>;
  addSolution(record: SolutionRecord): Promise<void>;
}

interface RunCounters {
  calls: number;
  costUsd: number;
  savedUsd: number;
  simulated: boolean;
}

async function runStep(
  step: Exclude<Step, { kind: 'done' }>,
  teacher: Teacher,
  recorder: Recorder,
  counters: RunCounters,
): Promise<void> {
  counters.calls += 1;
  const { maxSubquestions } = recorder.state.settings;
  if (step.kind === 'decompose') {
    try {
      const result = await teacher.decompose(step.example, { maxSubquestions, sample: step.sample });
      counters.savedUsd += result.savedUsd;
      counters.simulated ||= result.simulated;
      await recorder.addDecomposition(decompositionRecord(step, teacher.id, result));
    } catch (error) {
      await recorder.addDecomposition(decompositionFailure(step, teacher.id, error));
    }
    return;
  }
  try {
    const result = await teacher.solve(step.example, step.decomposition.subquestions, {});
    counters.savedUsd += result.savedUsd;
    counters.simulated ||= result.simulated;
    await recorder.addSolution(solutionRecord(step, teacher.id, result, recorder.score));
  } catch (error) {
    await recorder.addSolution(solutionFailure(step, teacher.id, error));
  }
}

/** Ok records already on disk that this dataset uses: they are served, not requested. */
function cachedRecords(
  state: CollectionState,
  examples: readonly Example[],
): (DecompositionRecord | SolutionRecord)[] {
  const cached: (DecompositionRecord | SolutionRecord)[] = [];
  for (const example of examples) {
    for (let sample = 0; sample < state.samples; sample += 1) {
      const decomposition = state.decompositions.ok(state.decompositionKey(example, sample));
      if (decomposition === undefined) break;
      cached.push(decomposition);
      const solution = state.solutions.ok(state.solutionKey(decomposition.key));
      if (solution === undefined || solution.correct === true) {
        if (solution !== undefined) cached.push(solution);
        break;
      }
      cached.push(solution);
    }
  }
  return cached;
}

/** Final state of each example's first chain: decomposition status and solution status. */
function statusCounts(state: CollectionState, examples: readonly Example[]) {
  const decompositions = { ok: 0, invalid: 0, error: 0 };
  const solutions = { ok: 0, correct: 0, invalid: 0, error: 0 };
  for (const example of examples) {
    decompositions[state.exampleStatus(example)] += 1;
    const decomposition = state.decompositions.ok(state.decompositionKey(example, 0));
    if (decomposition === undefined) continue;
    const key = state.solutionKey(decomposition.key);
    const solution = state.solutions.ok(key) ?? state.solutions.last(key);
    if (solution === undefined) continue;
    solutions[solution.status] += 1;
    if (solution.correct === true) solutions.correct += 1;
  }
  return { decompositions, solutions };
}

/** Synchronous mode: every example walks its steps; the teacher bounds the requests in flight. */
async function runSynchronously(
  options: CollectOptions,
  recorder: Recorder,
  counters: RunCounters,
  onExampleDone: () => void,
): Promise<void> {
  // Twice as many examples in progress as requests in flight (the teacher's own limit):
  // while some examples wait for their journal fsync, others keep every request slot busy.
  const limit = pLimit(options.concurrency * 2);
  const { state } = recorder;
  await Promise.all(
    options.examples.map((example) =>
      limit(async () => {
        for (let step = state.nextStep(example); step.kind !== 'done'; step = state.nextStep(example)) {
          await runStep(step, options.teacher, recorder, counters);
        }
        onExampleDone();
      }),
    ),
  );
}

function recorderFor(
  state: CollectionState,
  journals: { decompositions: Journal<DecompositionRecord>; solutions: Journal<SolutionRecord> },
  counters: RunCounters,
  score: Scorer,
): Recorder {
  const count = (record: DecompositionRecord | SolutionRecord): void => {
    counters.simulated ||= record.simulated === true;
    counters.costUsd += record.costUsd;
  };
  return {
    state,
    score,
    async addDecomposition(record) {
      await journals.decompositions.append(record);
      state.decompositions.add(record, true);
      count(record);
    },
    async addSolution(record) {
      await journals.solutions.append(record);
      state.solutions.add(record, true);
      count(record);
    },
  };
}

export async function runCollection(options: CollectOptions): Promise<CollectSummary> {
  const { examples, teacher, outDir, settings } = options;
  const state = new CollectionState(teacher, settings);
  const files = {
    decompositions: join(outDir, journalFileNames.decompositions),
    solutions: join(outDir, journalFileNames.solutions),
    decomposer: join(outDir, trainingFileNames.decomposer),
    solver: join(outDir, trainingFileNames.solver),
  };
  const journals = {
    decompositions: await openJournal(files.decompositions, decompositionRecordSchema),
    solutions: await openJournal(files.solutions, solutionRecordSchema),
  };
  for (const record of journals.decompositions.existing) state.decompositions.add(record, false);
  for (const record of journals.solutions.existing) state.solutions.add(record, false);
  const cached = cachedRecords(state, examples);

  const counters: RunCounters = { calls: 0, costUsd: 0, savedUsd: 0, simulated: false };
  const recorder = recorderFor(state, journals, counters, options.score ?? scoreAnswer);
  let finished = 0;
  const exampleDone = (count = 1): void => {
    finished += count;
    options.onProgress?.({ done: finished, total: examples.length, costUsd: counters.costUsd });
  };
  const requestsBefore = (teacher as { requestCount?: number }).requestCount ?? 0;
  let batched: { batches: number; requests: number } | undefined;
  try {
    if (options.batch === undefined) await runSynchronously(options, recorder, counters, exampleDone);
    else {
      batched = await runBatchCollection(examples, teacher, recorder, options.batch);
      exampleDone(examples.length);
    }
  } finally {
    await journals.decompositions.close();
    await journals.solutions.close();
  }

  const kept = await writeTrainingSets(outDir, state.kept(examples), settings.maxSubquestions);
  const counts = trainingSetCounts(state, examples);
  const { decompositions, solutions } = statusCounts(state, examples);
  const requestCount = (teacher as { requestCount?: number }).requestCount;
  const requests = requestCount === undefined ? counters.calls : requestCount - requestsBefore;
  return {
    total: examples.length,
    ...decompositions,
    skippedCached: cached.length,
    requests: requests + (batched?.requests ?? 0),
    costUsd: counters.costUsd,
    savedUsd:
      counters.savedUsd + cached.reduce((sum, record) => sum + record.costUsd + (record.savedUsd ?? 0), 0),
    teacher: teacher.id,
    simulated: counters.simulated || cached.some((record) => record.simulated === true),
    filter: settings.filter,
    solutions,
    kept,
    dropped: { decomposer: counts.decomposer.dropped, solver: counts.solver.dropped },
    files,
    ...(batched === undefined ? {} : { batches: batched.batches }),
  };
}
