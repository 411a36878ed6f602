/**
 * Gathers chat requests into OpenAI Batch API batches for callers that ask one request at a time
 * (`dnc eval --batch`: every example in flight asks its next brick call and waits). A batch is
 * submitted once no new request has come for `gatherMs` (or at `maxRequests`), journaled (when a
 * journal is given: a rerun waits for a journaled batch instead of asking again), polled until it
 * ends, and each caller gets its own result line (or none: the caller reports the error).
 */
import type OpenAI from 'openai';
import { downloadLines, submitBatch, waitForBatch, type BatchPolling, type OutputLine } from './batch-api.js';
import { requestHash, type BatchJournal } from './batch-journal.js';
import type { ChatRequestBody } from './openai-protocol.js';

export interface BatchQueueOptions extends BatchPolling {
  /** Quiet time after the last new request before the batch is submitted. */
  gatherMs: number;
  /** Requests per batch at most (the Batch API takes 50,000). */
  maxRequests: number;
  /** Recorded in the batch metadata (`created_by`). */
  createdBy: string;
  journal?: BatchJournal;
}

export interface BatchedAnswer {
  line: OutputLine | undefined;
  batch: OpenAI.Batch;
}

interface Waiting {
  customId: string;
  body: ChatRequestBody;
  resolve: (answer: BatchedAnswer) => void;
  reject: (error: unknown) => void;
}

interface FinishedBatch {
  batch: OpenAI.Batch;
  lines: Map<string, OutputLine>;
}

export class BatchRequestQueue {
  /** Batches submitted so far. */
  batches = 0;
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly finished = new Map<string, Promise<FinishedBatch>>();

  constructor(
    private readonly client: OpenAI,
    private readonly options: BatchQueueOptions,
  ) {}

  async request(body: ChatRequestBody): Promise<BatchedAnswer> {
    const hash = requestHash(body);
    const journaled = this.options.journal?.claim(hash);
    if (journaled !== undefined) {
      const { batch, lines } = await this.finish(journaled.batchId);
      return { batch, line: lines.get(journaled.customId) };
    }
    const twins = this.waiting.filter((item) => item.customId.startsWith(`${hash}-`)).length;
    return new Promise((resolve, reject) => {
      this.waiting.push({ customId: `${hash}-${twins}`, body, resolve, reject });
      clearTimeout(this.timer);
      if (this.waiting.length >= this.options.maxRequests) void this.flush();
      else this.timer = setTimeout(() => void this.flush(), this.options.gatherMs);
    });
  }

  /** Waits for a batch to end and downloads its lines (once per batch). */
  private finish(batchId: string): Promise<FinishedBatch> {
    let finished = this.finished.get(batchId);
    if (finished === undefined) {
      finished = (async () => {
        const batch = await waitForBatch(this.client, batchId, this.options);
        const lines = new Map<string, OutputLine>();
        for (const line of [
          ...(await downloadLines(this.client, batch.output_file_id)),
          ...(await downloadLines(this.client, batch.error_file_id)),
        ])
          lines.set(line.custom_id, line);
        return { batch, lines };
      })();
      this.finished.set(batchId, finished);
    }
    return finished;
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    const items = this.waiting.splice(0);
    if (items.length === 0) return;
    try {
      const submitted = await submitBatch(this.client, items, this.options.createdBy);
      this.batches += 1;
      await this.options.journal?.record(
        submitted.id,
        items.map((item) => item.customId),
      );
      const { batch, lines } = await this.finish(submitted.id);
      for (const item of items) item.resolve({ line: lines.get(item.customId), batch });
    } catch (error) {
      for (const item of items) item.reject(error);
    }
  }
}
