/**
 * The OpenAI Batch API calls dnc makes, shared by `dnc collect --batch` (src/collect/batch-driver.ts)
 * and `dnc eval --batch` (src/teacher/batch-request-queue.ts): upload a JSONL of chat requests and
 * create a batch, poll it until it ends, download and validate its output and error lines, and
 * turn a failed line into an error of the teacher's classes.
 */
import { toFile } from 'openai';
import type OpenAI from 'openai';
import { z } from 'zod';
import { TeacherApiCallError } from './errors.js';
import type { ChatRequestBody } from './openai-protocol.js';
import { sleep as defaultSleep } from './retry.js';

export interface BatchPolling {
  pollIntervalMs: number;
  onStatus?: (batch: { id: string; status: string; completed: number; total: number }) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** Uploads the requests (`custom_id` = `customId`) and creates a chat-completions batch. */
export async function submitBatch(
  client: OpenAI,
  requests: readonly { customId: string; body: ChatRequestBody }[],
  createdBy: string,
): Promise<OpenAI.Batch> {
  const lines = requests.map((request) =>
    JSON.stringify({
      custom_id: request.customId,
      method: 'POST',
      url: '/v1/chat/completions',
      body: request.body,
    }),
  );
  const file = await client.files.create({
    file: await toFile(Buffer.from(`${lines.join('\n')}\n`), `${createdBy.replace(/\W+/g, '-')}-batch.jsonl`),
    purpose: 'batch',
  });
  return client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { created_by: createdBy },
  });
}

export const outputLineSchema = z.object({
  custom_id: z.string(),
  response: z.object({ status_code: z.number().int(), body: z.unknown() }).nullable().optional(),
  error: z
    .object({ code: z.string().nullable().optional(), message: z.string().nullable().optional() })
    .nullable()
    .optional(),
});
export type OutputLine = z.infer<typeof outputLineSchema>;

export const terminalStatuses = new Set(['completed', 'failed', 'expired', 'cancelled']);

export async function waitForBatch(client: OpenAI, id: string, options: BatchPolling): Promise<OpenAI.Batch> {
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

export async function downloadLines(
  client: OpenAI,
  fileId: string | null | undefined,
): Promise<OutputLine[]> {
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

export function lineError(line: OutputLine | undefined, batch: OpenAI.Batch): Error {
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
