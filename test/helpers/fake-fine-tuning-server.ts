/**
 * A scripted OpenAI-compatible fine-tuning service on 127.0.0.1 for offline tests, composed with
 * the fake chat server (test/helpers/fake-openai-server.ts): the same URL answers chat
 * completions and batches (through `FakeOpenAI`) and the fine-tuning API:
 *
 *   POST /v1/files (multipart), GET /v1/files?purpose=, POST /v1/fine_tuning/jobs,
 *   GET /v1/fine_tuning/jobs, GET /v1/fine_tuning/jobs/:id, GET /v1/fine_tuning/jobs/:id/events,
 *   GET /v1/fine_tuning/jobs/:id/checkpoints, POST /v1/fine_tuning/jobs/:id/cancel.
 *
 * A job moves validating_files → queued → running (message and metrics events) → its `outcome`
 * (succeeded with a `ft:` model, failed with a message, or cancelled by the service) after
 * `retrievesUntilDone` retrieves. `fault` answers the n-th request of a route with 429 / 500
 * before it is processed, `faultAfter` after it was processed (the work is done, the client
 * sees an error). `hold` processes a request (or not) and then never answers it, resolving
 * `held` — a test kills its client there, at a known stage.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeOpenAI, type FakeBehaviour, type FakeOpenAIServerOptions } from './fake-openai-server.js';
import { errorBody, faultReply, page, replay, send, type Reply } from './fake-http.js';

export type FakeJobOutcome =
  { kind: 'succeed' } | { kind: 'fail'; message: string } | { kind: 'cancelled-by-service' };

export interface FakeJob {
  id: string;
  object: 'fine_tuning.job';
  model: string;
  status: string;
  training_file: string;
  validation_file: string | null;
  fine_tuned_model: string | null;
  trained_tokens: number | null;
  error: { message: string; code: string; param: null } | null;
  metadata: Record<string, string> | null;
  created_at: number;
  suffix: string | null;
  epochs: number;
  retrieves: number;
  events: {
    id: string;
    object: string;
    created_at: number;
    level: string;
    message: string;
    type: string;
    data?: unknown;
  }[];
}

/** Where `hold` stops: `before` the request is processed, or `after` (done, but never answered). */
export interface FakeHold {
  route: string;
  when: 'before' | 'after';
  /** The 1-based request of that route to hold (default 1). */
  occurrence?: number;
}

export interface FakeFineTuningServerOptions {
  /** How chat completions answer (any model, fine-tuned ones included). */
  chat?: FakeOpenAIServerOptions;
  outcome?: (job: FakeJob) => FakeJobOutcome;
  /** Retrieves of a job before it ends (default 3). */
  retrievesUntilDone?: number;
  /** Page size of list endpoints when the client asks for more (default 100). */
  pageSize?: number;
  /** A failure for the n-th (1-based) request of a route (`POST /v1/files`, `GET /v1/fine_tuning/jobs/:id`, ...). */
  fault?: (route: string, occurrence: number) => FakeBehaviour | undefined;
  /** Like `fault`, but the request is processed first. */
  faultAfter?: (route: string, occurrence: number) => FakeBehaviour | undefined;
  hold?: FakeHold;
}

export interface FakeFineTuningServer {
  url: string;
  fake: FakeOpenAI;
  jobs: Map<string, FakeJob>;
  /** Every file a `POST /v1/files` stored, in order. */
  uploads: { id: string; filename: string; purpose: string }[];
  /** Every `METHOD /route` (ids as `:id`) received. */
  routes: string[];
  /** Resolves with the route once a request is held; renewed by `setHold`. */
  held: Promise<string>;
  setHold(hold: FakeHold | undefined): void;
  close(): Promise<void>;
}

class FakeFineTuning {
  readonly jobs = new Map<string, FakeJob>();
  readonly uploads: FakeFineTuningServer['uploads'] = [];
  readonly routes: string[] = [];
  private readonly counts = new Map<string, number>();
  private nextId = 0;
  private clock = 1_700_000_000;
  hold: FakeHold | undefined;
  onHeld: (route: string) => void = () => undefined;

  constructor(
    readonly fake: FakeOpenAI,
    private readonly options: FakeFineTuningServerOptions,
  ) {
    this.hold = options.hold;
  }

  private id(prefix: string): string {
    return `${prefix}${++this.nextId}`;
  }

  private event(job: FakeJob, message: string, data?: unknown): void {
    const type = data === undefined ? 'message' : 'metrics';
    job.events.unshift({
      id: this.id('ftevent-'),
      object: 'fine_tuning.job.event',
      created_at: this.clock++,
      level: 'info',
      message,
      type,
      ...(data === undefined ? {} : { data }),
    });
  }

  private public(job: FakeJob): unknown {
    const { retrieves: _retrieves, events: _events, epochs: _epochs, suffix: _suffix, ...visible } = job;
    return visible;
  }

  async upload(request: IncomingMessage, raw: Buffer): Promise<Reply> {
    const headers = request.headers as Record<string, string>;
    const form = await new Request('http://fake/', { method: 'POST', headers, body: raw }).formData();
    const file = form.get('file') as File | null;
    const purpose = String(form.get('purpose'));
    const id = this.id('file-');
    const filename = file?.name ?? 'upload';
    this.fake.files.set(id, {
      purpose,
      content: file === null ? '' : await file.text(),
      filename,
      createdAt: this.clock++,
    });
    this.uploads.push({ id, filename, purpose });
    return {
      status: 200,
      body: { id, object: 'file', bytes: raw.length, created_at: 0, filename, purpose, status: 'processed' },
    };
  }

  listFiles(url: URL): Reply {
    const purpose = url.searchParams.get('purpose');
    const files = [...this.fake.files.entries()]
      .filter(([, file]) => purpose === null || file.purpose === purpose)
      .map(([id, file]) => ({
        id,
        object: 'file',
        filename: file.filename ?? id,
        purpose: file.purpose,
        bytes: file.content.length,
        created_at: file.createdAt ?? 0,
      }))
      .reverse();
    return { status: 200, body: page(files, url, this.options.pageSize ?? 100) };
  }

  createJob(raw: Buffer): Reply {
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    const training = String(body.training_file);
    if (!this.fake.files.has(training))
      return { status: 400, body: errorBody(`no file ${training}`, 'invalid_request_error') };
    const epochs =
      (body.method as { supervised?: { hyperparameters?: { n_epochs?: number } } } | undefined)?.supervised
        ?.hyperparameters?.n_epochs ?? 3;
    const job: FakeJob = {
      id: this.id('ftjob-'),
      object: 'fine_tuning.job',
      model: String(body.model),
      status: 'validating_files',
      training_file: training,
      validation_file: (body.validation_file as string | undefined) ?? null,
      fine_tuned_model: null,
      trained_tokens: null,
      error: null,
      metadata: (body.metadata as Record<string, string> | undefined) ?? null,
      created_at: this.clock++,
      suffix: (body.suffix as string | undefined) ?? null,
      epochs,
      retrieves: 0,
      events: [],
    };
    this.event(job, `Created fine-tuning job: ${job.id}`);
    this.jobs.set(job.id, job);
    return { status: 200, body: this.public(job) };
  }

  private advance(job: FakeJob): void {
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return;
    job.retrieves += 1;
    const until = this.options.retrievesUntilDone ?? 3;
    if (job.retrieves < until) {
      job.status = job.retrieves === 1 ? 'queued' : 'running';
      if (job.status === 'running') {
        const step = job.retrieves - 1;
        this.event(job, `Step ${step}/${until}: training loss=${(1 / step).toFixed(4)}`, {
          step,
          total_steps: until,
          train_loss: 1 / step,
          valid_loss: 1.2 / step,
        });
      }
      return;
    }
    const outcome = this.options.outcome?.(job) ?? { kind: 'succeed' };
    if (outcome.kind === 'fail') {
      job.status = 'failed';
      job.error = { message: outcome.message, code: 'invalid_training_file', param: null };
      this.event(job, `Fine-tuning job failed: ${outcome.message}`);
    } else if (outcome.kind === 'cancelled-by-service') {
      job.status = 'cancelled';
      this.event(job, 'Fine-tuning job cancelled');
    } else {
      const tokens = Math.ceil((this.fake.files.get(job.training_file)?.content.length ?? 0) / 4);
      job.status = 'succeeded';
      job.trained_tokens = tokens * job.epochs;
      job.fine_tuned_model = `ft:${job.model}:dnc-fake:${job.suffix ?? ''}:${job.id}`;
      this.event(job, 'The job has successfully completed');
    }
  }

  jobRoute(method: string, id: string, action: string | undefined, url: URL): Reply {
    const job = this.jobs.get(id);
    if (job === undefined) return { status: 404, body: errorBody(`no job ${id}`, 'invalid_request_error') };
    if (method === 'GET' && action === undefined) {
      this.advance(job);
      return { status: 200, body: this.public(job) };
    }
    if (method === 'GET' && action === 'events')
      return { status: 200, body: page(job.events, url, this.options.pageSize ?? 100) };
    if (method === 'GET' && action === 'checkpoints') {
      const data =
        job.status !== 'succeeded'
          ? []
          : [
              {
                id: `ftckpt-${job.id}`,
                object: 'fine_tuning.job.checkpoint',
                fine_tuning_job_id: job.id,
                fine_tuned_model_checkpoint: `${job.fine_tuned_model}:ckpt-step-1`,
                step_number: 1,
                metrics: { train_loss: 0.5 },
                created_at: 0,
              },
            ];
      return { status: 200, body: { object: 'list', data, has_more: false } };
    }
    if (method === 'POST' && action === 'cancel') {
      if (['succeeded', 'failed', 'cancelled'].includes(job.status))
        return {
          status: 400,
          body: errorBody(`Job ${job.id} has already ${job.status}`, 'invalid_request_error'),
        };
      job.status = 'cancelled';
      this.event(job, 'Fine-tuning job cancelled by the user');
      return { status: 200, body: this.public(job) };
    }
    return {
      status: 404,
      body: errorBody(`the fake server has no ${method} job ${action}`, 'invalid_request_error'),
    };
  }

  /** The fine-tuning reply for a route, or undefined for routes the chat fake answers. */
  async process(request: IncomingMessage, raw: Buffer, url: URL): Promise<Reply | undefined> {
    const method = request.method ?? 'GET';
    const job = /^\/v1\/fine_tuning\/jobs\/([^/]+)(?:\/([a-z]+))?$/.exec(url.pathname);
    if (method === 'POST' && url.pathname === '/v1/files') return this.upload(request, raw);
    if (method === 'GET' && url.pathname === '/v1/files') return this.listFiles(url);
    if (method === 'POST' && url.pathname === '/v1/fine_tuning/jobs') return this.createJob(raw);
    if (method === 'GET' && url.pathname === '/v1/fine_tuning/jobs')
      return {
        status: 200,
        body: page(
          [...this.jobs.values()].reverse().map((item) => this.public(item) as FakeJob),
          url,
          this.options.pageSize ?? 100,
        ),
      };
    if (job !== null) return this.jobRoute(method, job[1] ?? '', job[2], url);
    return undefined;
  }

  /** `METHOD /path` with ids replaced by `:id`, and its 1-based occurrence. */
  count(request: IncomingMessage, url: URL): { route: string; occurrence: number } {
    const path = url.pathname.replace(/\/(file|ftjob|batch)[-_][A-Za-z0-9_-]+/g, '/:id');
    const route = `${request.method} ${path}`;
    const occurrence = (this.counts.get(route) ?? 0) + 1;
    this.counts.set(route, occurrence);
    this.routes.push(route);
    return { route, occurrence };
  }

  private holds(route: string, occurrence: number, when: FakeHold['when']): boolean {
    const hold = this.hold;
    if (
      hold === undefined ||
      hold.route !== route ||
      hold.when !== when ||
      (hold.occurrence ?? 1) !== occurrence
    )
      return false;
    this.onHeld(route);
    return true;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const { route, occurrence } = this.count(request, url);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    if (this.holds(route, occurrence, 'before')) return; // never answered
    const fault = this.options.fault?.(route, occurrence);
    if (fault !== undefined) return send(response, faultReply(fault));
    const reply = await this.process(request, raw, url);
    if (reply === undefined) return this.fake.handle(replay(request, raw), response);
    if (this.holds(route, occurrence, 'after')) return;
    const after = this.options.faultAfter?.(route, occurrence);
    send(response, after === undefined ? reply : faultReply(after));
  }
}

export async function startFakeFineTuningServer(
  options: FakeFineTuningServerOptions = {},
): Promise<FakeFineTuningServer> {
  const fake = new FakeOpenAI(options.chat ?? {});
  const service = new FakeFineTuning(fake, options);
  const server = createServer((request, response) => {
    service
      .handle(request, response)
      .catch((error: unknown) =>
        send(response, { status: 500, body: errorBody(String(error), 'server_error') }),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle: FakeFineTuningServer = {
    url: `http://127.0.0.1:${port}/v1`,
    fake,
    jobs: service.jobs,
    uploads: service.uploads,
    routes: service.routes,
    held: Promise.resolve(''),
    setHold(hold) {
      service.hold = hold;
      handle.held = new Promise((resolve) => (service.onHeld = resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  handle.setHold(options.hold);
  return handle;
}
