/**
 * `--batch`: the OpenAI Batch API. Each round uploads one JSONL of the requests every example
 * needs next (`custom_id` = record key), creates a batch, polls it, downloads the output and
 * merges each line into the journals exactly as the synchronous path would (same request
 * bodies, same interpretation), at the batch price. Submitted batches are journaled in
 * `batches.jsonl`, so a killed run resumes polling them instead of paying again.
 */
import { join } from 'node:path';
import { toFile } from 'openai';
import type OpenAI from 'openai';
import { z } from 'zod';
import { UserError } from '../cli/user-error.js';
import { openJournal } from '../data/jsonl.js';
import type { Journal } from '../data/jsonl.js';
import type { Example } from '../data/schemas.js';
import { TeacherApiCallError } from '../teacher/errors.js';
import {
  buildDecomposeBody,
  buildSolveBody,
  interpretDecomposition,
  interpretSolution,
  validateCompletion,
} from '../teacher/openai-protocol.js';
import type { ChatRequestBody } from '../teacher/openai-protocol.js';
import { OpenAITeacher, isStructuredOutputRejection } from '../teacher/openai-teacher.js';
import { sleep as defaultSleep } from '../teacher/retry.js';
import type { Teacher } from '../teacher/types.js';
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

const outputLineSchema = z.object({
  custom_id: z.string(),
  response: z.object({ status_code: z.number().int(), body: z.unknown() }).nullable().optional(),
  error: z
    .object({ code: z.string().nullable().optional(), message: z.string().nullable().optional() })
    .nullable()
    .optional(),
});
type OutputLine = z.infer<typeof outputLineSchema>;

const terminalStatuses = new Set(['completed', 'failed', 'expired', 'cancelled']);

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
  const lines = steps.map((step) =>
    JSON.stringify({
      custom_id: step.key,
      method: 'POST',
      url: '/v1/chat/completions',
      body: requestBody(teacher, step, maxSubquestions, structured),
    }),
  );
  const file = await client.files.create({
    file: await toFile(Buffer.from(`${lines.join('\n')}\n`), 'dnc-collect-batch.jsonl'),
    purpose: 'batch',
  });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { created_by: 'dnc collect' },
  });
  return { id: batch.id, structured };
}

async function waitForBatch(client: OpenAI, id: string, options: BatchOptions): Promise<OpenAI.Batch> {
  const wait = options.sleep ?? defaultSleep;
  for (let batch = await client.batches.retrieve(id); ; batch = await client.batches.retrieve(id)) {
    options.onStatus?.({
      id,
      status: batch.status,
      completed: batch.request_counts?.completed ?? 0,
      total: batch.request_counts?.total ?? 0,
    });
    if (terminalStatuses.has(batch.status)) return batch;
    await wait(options.pollIntervalMs);
  }
}

async function downloadLines(client: OpenAI, fileId: string | null | undefined): Promise<OutputLine[]> {
  if (fileId === null || fileId === undefined) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const parsed = outputLineSchema.safeParse(JSON.parse(line));
      if (!parsed.success)
        throw new Error(`batch output file ${fileId} line ${index + 1} is not a batch result line`);
      return parsed.data;
    });
}

function lineError(line: OutputLine | undefined, batch: OpenAI.Batch): Error {
  if (line === undefined)
    return new Error(
      `batch ${batch.id} (${batch.status}) returned no result for this request; it is asked again on the next run`,
    );
  if (line.error)
    return new Error(`batch ${batch.id}: ${line.error.message ?? line.error.code ?? 'request failed'}`);
  const status = line.response?.status_code ?? 0;
  const message =
    (line.response?.body as { error?: { message?: string } } | undefined)?.error?.message ?? 'request failed';
  return new TeacherApiCallError({
    status,
    url: `batch ${batch.id}`,
    message,
    responseBody: JSON.stringify(line.response?.body ?? null),
  });
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
