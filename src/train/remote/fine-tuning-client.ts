/**
 * A client for an OpenAI-compatible fine-tuning service (files and fine-tuning jobs), through the
 * `openai` package like the teacher: the SDK's own retries are off and the teacher's policy runs
 * instead (backoff with full jitter, `retry-after`, retryable error classes, optional requests per
 * minute). Every response is validated with zod. Uploading and creating a job are not idempotent
 * on the service, so a retry first looks for what the failed attempt may have made (a file by its
 * name, a job by its training file) and never makes a second one.
 */
import { toFile } from 'openai';
import type OpenAI from 'openai';
import type { z } from 'zod';
import { formatZodError } from '../../data/zod-format.js';
import { TeacherInvalidResponseError } from '../../teacher/errors.js';
import { createOpenAIClient, DEFAULT_BASE_URL, toTeacherError } from '../../teacher/openai-teacher.js';
import { RateLimiter } from '../../teacher/rate-limiter.js';
import { defaultRetryPolicy, withRetries, type RetryPolicy } from '../../teacher/retry.js';
import {
  fineTuningJobSchema,
  jobEventSchema,
  listPageSchema,
  remoteFileSchema,
  type FineTuningJob,
  type JobEvent,
  type RemoteFile,
} from './fine-tuning-schemas.js';

export interface FineTuningClientConfig {
  /** Defaults to `OPENAI_BASE_URL`, then the OpenAI API. */
  baseURL?: string;
  /** Defaults to `OPENAI_API_KEY`. */
  apiKey?: string;
  /** Swapped in tests. */
  fetch?: typeof fetch;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  requestsPerMinute?: number;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (event: { error: unknown; retryIndex: number; delayMs: number }) => void;
}

/** The body of `POST /fine_tuning/jobs`. */
export interface CreateJobBody {
  model: string;
  training_file: string;
  validation_file?: string;
  suffix?: string;
  seed?: number;
  method?: { type: 'supervised'; supervised: { hyperparameters: { n_epochs: number } } };
  metadata?: Record<string, string>;
}

const filePageSchema = listPageSchema(remoteFileSchema);
const jobPageSchema = listPageSchema(fineTuningJobSchema);
const eventPageSchema = listPageSchema(jobEventSchema);

export class FineTuningClient {
  readonly baseURL: string;
  /** HTTP requests sent so far, retries included. */
  requestCount = 0;
  private readonly sdk: OpenAI;
  private readonly policy: RetryPolicy;
  private readonly limiter: RateLimiter;
  private readonly timeoutMs: number;

  constructor(private readonly config: FineTuningClientConfig = {}) {
    this.baseURL = (config.baseURL ?? process.env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.timeoutMs = config.timeoutMs ?? 120_000;
    this.policy = { ...defaultRetryPolicy, ...config.retry };
    this.limiter = new RateLimiter({ requestsPerMinute: config.requestsPerMinute });
    this.sdk = createOpenAIClient({
      ...config,
      baseURL: this.baseURL,
      maxRetries: 0,
      timeoutMs: this.timeoutMs,
    });
  }

  /** One request with the teacher's retry policy; `send` gets the attempt's abort signal and index. */
  private async call<Schema extends z.ZodType>(
    path: string,
    schema: Schema,
    send: (signal: AbortSignal, attemptIndex: number) => Promise<unknown>,
    retry = true,
  ): Promise<z.infer<Schema>> {
    const url = `${this.baseURL}${path}`;
    const attempt = async (attemptIndex: number): Promise<z.infer<Schema>> => {
      await this.limiter.acquire(0);
      const timeout = AbortSignal.timeout(this.timeoutMs);
      let value: unknown;
      try {
        this.requestCount += 1;
        value = await send(timeout, attemptIndex);
      } catch (error) {
        throw toTeacherError(error, url, this.timeoutMs, timeout.aborted);
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success)
        throw new TeacherInvalidResponseError(url, `unexpected body: ${formatZodError(parsed.error)}`);
      return parsed.data;
    };
    // A lookup inside a retried attempt tries once: its failure is that attempt's failure.
    if (!retry) return attempt(0);
    return withRetries(attempt, {
      policy: this.policy,
      random: this.config.random,
      sleep: this.config.sleep,
      onRetry: this.config.onRetry,
    });
  }

  /** Every item of a cursor-paginated list endpoint (`after` = the last id of the page before). */
  private async listAll<Item extends { id: string }>(
    path: string,
    schema: z.ZodType<{ data: Item[]; has_more?: boolean }>,
    query: Record<string, string | number> = {},
    stop: (item: Item) => boolean = () => false,
    retry = true,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.call(
        path,
        schema,
        (signal) =>
          this.sdk.get(path, { query: { ...query, limit: 100, ...(after ? { after } : {}) }, signal }),
        retry,
      );
      for (const item of page.data) {
        if (stop(item)) return items;
        items.push(item);
      }
      if (page.has_more !== true || page.data.length === 0) return items;
      after = page.data.at(-1)!.id;
    }
  }

  /** The newest file of this purpose with exactly this name, if the service has one. */
  async findFile(filename: string, purpose = 'fine-tune', retry = true): Promise<RemoteFile | undefined> {
    const files = await this.listAll('/files', filePageSchema, { purpose }, undefined, retry);
    return files.find((file) => file.filename === filename && (file.purpose ?? purpose) === purpose);
  }

  /** Uploads `content` as `filename`, once: a retry first looks for a file the failed attempt may have stored. */
  async uploadFile(
    filename: string,
    content: string,
    purpose: 'fine-tune' = 'fine-tune',
  ): Promise<RemoteFile> {
    return this.call('/files', remoteFileSchema, async (signal, attemptIndex) => {
      if (attemptIndex > 0) {
        const stored = await this.findFile(filename, purpose, false);
        if (stored !== undefined) return stored;
      }
      const file = await toFile(Buffer.from(content, 'utf8'), filename, { type: 'application/jsonl' });
      return this.sdk.files.create({ file, purpose }, { signal });
    });
  }

  /** The first job (newest first) that `match` accepts, if any. */
  async findJob(match: (job: FineTuningJob) => boolean, retry = true): Promise<FineTuningJob | undefined> {
    const jobs = await this.listAll('/fine_tuning/jobs', jobPageSchema, {}, undefined, retry);
    return jobs.find(match);
  }

  /** Creates the job once: a retry first looks for a job on the same training file. */
  async createJob(body: CreateJobBody): Promise<FineTuningJob> {
    return this.call('/fine_tuning/jobs', fineTuningJobSchema, async (signal, attemptIndex) => {
      if (attemptIndex > 0) {
        const created = await this.findJob((job) => job.training_file === body.training_file, false);
        if (created !== undefined) return created;
      }
      return this.sdk.post('/fine_tuning/jobs', { body, signal });
    });
  }

  retrieveJob(jobId: string): Promise<FineTuningJob> {
    const path = `/fine_tuning/jobs/${encodeURIComponent(jobId)}`;
    return this.call(path, fineTuningJobSchema, (signal) => this.sdk.get(path, { signal }));
  }

  cancelJob(jobId: string): Promise<FineTuningJob> {
    const path = `/fine_tuning/jobs/${encodeURIComponent(jobId)}/cancel`;
    return this.call(path, fineTuningJobSchema, (signal) => this.sdk.post(path, { signal }));
  }

  /** The job's events not in `seen`, oldest first (the service lists them newest first). */
  async newEvents(jobId: string, seen: ReadonlySet<string>): Promise<JobEvent[]> {
    const path = `/fine_tuning/jobs/${encodeURIComponent(jobId)}/events`;
    const events = await this.listAll(path, eventPageSchema, {}, (event) => seen.has(event.id));
    // Reversed, then a stable sort by time: oldest first whichever way the service ordered a page.
    return events
      .filter((event) => !seen.has(event.id))
      .reverse()
      .sort((left, right) => left.created_at - right.created_at);
  }
}
