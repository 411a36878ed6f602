/**
 * `--batch`: the OpenAI Batch API. Each round uploads one JSONL of the requests every example
 * needs next (`custom_id` = record key), creates a batch, polls it, downloads the output and
 * merges each line into the journals exactly as the synchronous path would (same request
 * bodies, same interpretation), at the batch price. Submitted batches are journaled in
 * `batches.jsonl`, so a killed run resumes polling them instead of paying again.
 */
import { join } from 'node:path';
import type OpenAI from 'openai';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { openJournal } from '../data/jsonl.js';
import type { Journal } from '../data/jsonl.js';
import type { Example } from '../data/schemas.js';
import {
  buildDecomposeBody,
  buildSolveBody,
  interpretDecomposition,
  interpretSolution,
  validateCompletion,
} from '../teacher/openai-protocol.js';
import type { ChatRequestBody } from '../teacher/openai-protocol.js';
import { OpenAITeacher, isStructuredOutputRejection } from '../teacher/openai-teacher.js';
import type { Teacher } from '../teacher/types.js';
import {
  downloadLines,
  lineError,
  submitBatch,
  waitForBatch,
  type OutputLine,
} from '../teacher/batch-api.js';
import type { Step } from './collection-state.js';
import { decompositionFailure, decompositionRecord, solutionFailure, solutionRecord } from './records.js';
import type { Recorder } from './run-collection.js';

export interface BatchOptions {
  outDir: string;
  pollIntervalMs: number;
  /** Price factor of batch requests (OpenAI: 0.5). */
  priceFactor: number;
  onStatus?: (batch: { id: string; status: string; completed: number; total: number }) => void;
  sleep?: (ms: number) => Promise<void>;
}

type PendingStep = Exclude<Step, { kind: 'done' }>;

const batchEntrySchema = z.strictObject({
  batchId: z.string().min(1),
  state: z.enum(['submitted', 'merged']),
  structured: z.boolean(),
  requests: z.number().int().nonnegative(),
  createdAt: z.string(),
});
type BatchEntry = z.infer<typeof batchEntrySchema>;

function requestBody(
  teacher: OpenAITeacher,
  step: PendingStep,
  maxSubquestions: number,
  structured: boolean,
): ChatRequestBody {
  return step.kind === 'decompose'
    ? buildDecomposeBody(
        teacher.model,
        step.example,
        maxSubquestions,
        teacher.decoding(step.sample),
        structured,
      )
    : buildSolveBody(
        teacher.model,
        step.example,
        step.decomposition.subquestions,
        teacher.decoding(0),
        structured,
      );
}

async function submit(
  client: OpenAI,
  teacher: OpenAITeacher,
  steps: readonly PendingStep[],
  maxSubquestions: number,
): Promise<{ id: string; structured: boolean }> {
  const structured = teacher.structured;
  const lines = steps.map((step) => ({
    customId: step.key,
    body: requestBody(teacher, step, maxSubquestions, structured),
  }));
  const batch = await submitBatch(client, lines, 'dnc collect');
  return { id: batch.id, structured };
}

/** Merges a finished batch into the journals: each line lands on the step that still needs its key. */
async function merge(
  client: OpenAI,
  teacher: OpenAITeacher,
  examples: readonly Example[],
  recorder: Recorder,
  batch: OpenAI.Batch,
  entry: Pick<BatchEntry, 'structured' | 'createdAt'>,
  priceFactor: number,
): Promise<void> {
  const lines = new Map<string, OutputLine>();
  for (const line of [
    ...(await downloadLines(client, batch.output_file_id)),
    ...(await downloadLines(client, batch.error_file_id)),
  ]) {
    lines.set(line.custom_id, line);
  }
  const asked = new Set((await downloadLines(client, batch.input_file_id)).map((line) => line.custom_id));
  const latencyMs = Date.now() - Date.parse(entry.createdAt);
  const { maxSubquestions } = recorder.state.settings;
  for (const example of examples) {
    const step = recorder.state.nextStep(example);
    if (step.kind === 'done') continue;
    const line = lines.get(step.key);
    if (!asked.has(step.key)) continue; // not part of this batch
    const extra = { batchId: batch.id };
    const body = line?.response?.status_code === 200 ? validateCompletion(line.response.body) : undefined;
    if (body === undefined || 'problem' in body) {
      const error =
        body !== undefined && 'problem' in body
          ? new Error(`batch ${batch.id}: not a chat completion: ${body.problem}`)
          : lineError(line, batch);
      if (entry.structured && isStructuredOutputRejection(error)) {
        teacher.rememberStructuredOutputSupport(false); // asked again in plain text next round
        continue;
      }
      if (step.kind === 'decompose')
        await recorder.addDecomposition(decompositionFailure(step, teacher.id, error, extra));
      else await recorder.addSolution(solutionFailure(step, teacher.id, error, extra));
      continue;
    }
    const prompt = requestBody(teacher, step, maxSubquestions, entry.structured)
      .messages.map((message) => message.content)
      .join('\n');
    const measured = { latencyMs, requests: 1, priceFactor };
    if (step.kind === 'decompose') {
      const { result, value } = teacher.interpret(
        body.completion,
        entry.structured,
        (content, finish, refusal, structured) =>
          interpretDecomposition(content, finish, refusal, structured, maxSubquestions),
        measured,
        prompt,
      );
      await recorder.addDecomposition(
        decompositionRecord(step, teacher.id, { ...result, subquestions: value }, extra),
      );
    } else {
      const count = step.decomposition.subquestions.length;
      const { result, value } = teacher.interpret(
        body.completion,
        entry.structured,
        (content, finish, refusal, structured) =>
          interpretSolution(content, finish, refusal, structured, count),
        measured,
        prompt,
      );
      await recorder.addSolution(
        solutionRecord(step, teacher.id, { ...result, ...value }, recorder.score, extra),
      );
    }
  }
}

/** Runs rounds of batches until no example needs anything more; returns the batches and the request lines submitted. */
export async function runBatchCollection(
  examples: readonly Example[],
  teacher: Teacher,
  recorder: Recorder,
  options: BatchOptions,
): Promise<{ batches: number; requests: number }> {
  if (!(teacher instanceof OpenAITeacher)) {
    throw new UserError(
      `--batch needs an openai:MODEL teacher (the Batch API is OpenAI's); '${teacher.id}' answers directly, drop --batch`,
    );
  }
  const client = teacher.managementClient();
  const journal: Journal<BatchEntry> = await openJournal(
    join(options.outDir, 'batches.jsonl'),
    batchEntrySchema,
  );
  let batches = 0;
  let requests = 0;
  try {
    const merged = new Set(
      journal.existing.filter((entry) => entry.state === 'merged').map((entry) => entry.batchId),
    );
    for (const entry of journal.existing.filter(
      (item) => item.state === 'submitted' && !merged.has(item.batchId),
    )) {
      const batch = await waitForBatch(client, entry.batchId, options);
      await merge(client, teacher, examples, recorder, batch, entry, options.priceFactor);
      await journal.append({ ...entry, state: 'merged' });
      batches += 1;
    }
    while (true) {
      const steps = examples
        .map((example) => recorder.state.nextStep(example))
        .filter((step): step is PendingStep => step.kind !== 'done');
      if (steps.length === 0) return { batches, requests };
      const submitted = await submit(client, teacher, steps, recorder.state.settings.maxSubquestions);
      requests += steps.length;
      const entry: BatchEntry = {
        batchId: submitted.id,
        state: 'submitted',
        structured: submitted.structured,
        requests: steps.length,
        createdAt: new Date().toISOString(),
      };
      await journal.append(entry);
      const batch = await waitForBatch(client, submitted.id, options);
      await merge(client, teacher, examples, recorder, batch, entry, options.priceFactor);
      await journal.append({ ...entry, state: 'merged' });
      batches += 1;
    }
  } finally {
    await journal.close();
  }
}
