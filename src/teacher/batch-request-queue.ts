/**
 * Gathers chat requests into OpenAI Batch API batches for callers that ask one request at a time
 * (`dnc eval --batch`: every example in flight asks its next brick call and waits). A batch is
 * submitted once no new request has come for `gatherMs` (or at `maxRequests`), polled until it
 * ends, and each caller gets its own result line (or none: the caller reports the error).
 */
import type OpenAI from 'openai';
import { downloadLines, submitBatch, waitForBatch, type BatchPolling, type OutputLine } from './batch-api.js';
import type { ChatRequestBody } from './openai-protocol.js';

export interface BatchQueueOptions extends BatchPolling {
  /** Quiet time after the last new request before the batch is submitted. */
  gatherMs: number;
  /** Requests per batch at most (the Batch API takes 50,000). */
  maxRequests: number;
  /** Recorded in the batch metadata (`created_by`). */
  createdBy: string;
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

export class BatchRequestQueue {
  /** Batches submitted so far. */
  batches = 0;
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(
    private readonly client: OpenAI,
    private readonly options: BatchQueueOptions,
  ) {}

  request(body: ChatRequestBody): Promise<BatchedAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ customId: `request-${this.next++}`, body, resolve, reject });
      clearTimeout(this.timer);
      if (this.waiting.length >= this.options.maxRequests) void this.flush();
      else this.timer = setTimeout(() => void this.flush(), this.options.gatherMs);
    });
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    const items = this.waiting.splice(0);
    if (items.length === 0) return;
    try {
      const submitted = await submitBatch(this.client, items, this.options.createdBy);
      this.batches += 1;
      const batch = await waitForBatch(this.client, submitted.id, this.options);
      const lines = new Map<string, OutputLine>();
      for (const line of [
        ...(await downloadLines(this.client, batch.output_file_id)),
        ...(await downloadLines(this.client, batch.error_file_id)),
      ])
        lines.set(line.custom_id, line);
      for (const item of items) item.resolve({ line: lines.get(item.customId), batch });
    } catch (error) {
      for (const item of items) item.reject(error);
    }
  }
}
