/**
 * `openai:MODEL`: any OpenAI-compatible endpoint through the `openai` package. The client's
 * own retries are off (`maxRetries: 0`); this adapter owns the policy (backoff with full
 * jitter, `retry-after`), the per-request timeout, concurrency (p-limit) and optional
 * requests/tokens-per-minute limits, so every part of it is testable. Structured output
 * (JSON schema) is used when the endpoint accepts it; an endpoint that rejects it is
 * remembered and asked in plain text from then on.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import pLimit from 'p-limit';
import type { LimitFunction } from 'p-limit';
import type { Example } from '../data/schemas.js';
import {
  TeacherAbortError,
  TeacherApiCallError,
  TeacherError,
  TeacherInvalidResponseError,
  TeacherNetworkError,
  TeacherTimeoutError,
} from './errors.js';
import {
  buildDecomposeBody,
  buildSolveBody,
  interpretDecomposition,
  interpretSolution,
  normalizeFinishReason,
  validateCompletion,
} from './openai-protocol.js';
import type { ChatCompletion, ChatRequestBody, DecodingSettings, Interpretation } from './openai-protocol.js';
import { estimateTokens, lookupPrice, priceUsage } from './pricing.js';
import type { PriceTable } from './pricing.js';
import { RateLimiter } from './rate-limiter.js';
import { defaultRetryPolicy, parseRetryAfterMs, withRetries } from './retry.js';
import type { RetryPolicy } from './retry.js';
import type {
  DecomposeOptions,
  FinishReason,
  DecomposeResult,
  SolveOptions,
  SolveResult,
  Teacher,
  TeacherCallResult,
} from './types.js';

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAITeacherConfig {
  model: string;
  /** Defaults to `OPENAI_BASE_URL`, then the OpenAI API. */
  baseURL?: string;
  /** Defaults to `OPENAI_API_KEY`; a custom endpoint may need none. */
  apiKey?: string;
  /** Swapped in tests. */
  fetch?: typeof fetch;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  concurrency?: number;
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Temperature of the first sample (0: the teacher's most likely answer). */
  temperature?: number;
  /** Temperature of later samples (a second try for a failed chain). */
  sampleTemperature?: number;
  maxOutputTokens?: number;
  structuredOutput?: 'auto' | 'always' | 'never';
  prices?: PriceTable;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (event: { error: unknown; retryIndex: number; delayMs: number }) => void;
}

/** Reads a completion's content into a value (sub-questions or a solution). */
export type Interpreter<T> = (
  content: string,
  finish: FinishReason,
  refusal: string | null | undefined,
  structured: boolean,
) => Interpretation<T>;

/** Which endpoints accept `response_format: json_schema` (remembered for the process). */
const structuredOutputSupport = new Map<string, boolean>();

export function forgetStructuredOutputSupport(): void {
  structuredOutputSupport.clear();
}

export function isStructuredOutputRejection(error: unknown): boolean {
  return (
    error instanceof TeacherApiCallError &&
    (error.status === 400 || error.status === 422) &&
    /response_format|json_schema|structured|schema/i.test(`${error.message} ${error.responseBody ?? ''}`)
  );
}

/**
 * An `openai` SDK client for an OpenAI-compatible endpoint (key from `OPENAI_API_KEY` unless
 * given). Its timeout is twice ours: the caller's AbortSignal fires first; this is only a backstop.
 */
export function createOpenAIClient(options: {
  baseURL: string;
  apiKey?: string;
  fetch?: typeof fetch;
  maxRetries: number;
  timeoutMs: number;
}): OpenAI {
  return new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? 'no-key',
    fetch: options.fetch,
    maxRetries: options.maxRetries,
    timeout: options.timeoutMs * 2,
  });
}

export class OpenAITeacher implements Teacher {
  readonly specificationVersion = 'v1';
  readonly id: string;
  readonly model: string;
  readonly deterministic = false;
  readonly baseURL: string;
  readonly client: OpenAI;
  /** HTTP requests sent so far, retries included. */
  requestCount = 0;
  private readonly config: OpenAITeacherConfig;
  private readonly policy: RetryPolicy;
  private readonly limit: LimitFunction;
  private readonly limiter: RateLimiter;
  private readonly timeoutMs: number;

  constructor(config: OpenAITeacherConfig) {
    this.config = config;
    this.model = config.model;
    this.id = `openai:${config.model}`;
    this.baseURL = (config.baseURL ?? process.env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.timeoutMs = config.timeoutMs ?? 60_000;
    this.policy = { ...defaultRetryPolicy, ...config.retry };
    this.limit = pLimit(config.concurrency ?? 8);
    this.limiter = new RateLimiter({
      requestsPerMinute: config.requestsPerMinute,
      tokensPerMinute: config.tokensPerMinute,
    });
    this.client = createOpenAIClient({
      ...config,
      baseURL: this.baseURL,
      maxRetries: 0,
      timeoutMs: this.timeoutMs,
    });
  }

  decoding(sample: number): DecodingSettings {
    return {
      temperature: sample === 0 ? (this.config.temperature ?? 0) : (this.config.sampleTemperature ?? 0.7),
      maxOutputTokens: this.config.maxOutputTokens ?? 512,
    };
  }

  decodingSettings(options: { sample: number }): Record<string, unknown> {
    return { ...this.decoding(options.sample), sample: options.sample };
  }

  /** Whether the next request asks for structured output. */
  get structured(): boolean {
    const mode = this.config.structuredOutput ?? 'auto';
    if (mode !== 'auto') return mode === 'always';
    return structuredOutputSupport.get(this.baseURL) ?? true;
  }

  /** Records whether this endpoint accepts structured output (the Batch API path learns it from results). */
  rememberStructuredOutputSupport(supported: boolean): void {
    structuredOutputSupport.set(this.baseURL, supported);
  }

  /** A client for the few Batch API management calls (files, batches), with the SDK's own retries. */
  managementClient(maxRetries = 3): OpenAI {
    return createOpenAIClient({
      ...this.config,
      baseURL: this.baseURL,
      maxRetries,
      timeoutMs: this.timeoutMs,
    });
  }

  async decompose(example: Example, options: DecomposeOptions): Promise<DecomposeResult> {
    const decoding = this.decoding(options.sample ?? 0);
    const { result, value } = await this.complete(
      (structured) => buildDecomposeBody(this.model, example, options.maxSubquestions, decoding, structured),
      (content, finish, refusal, structured) =>
        interpretDecomposition(content, finish, refusal, structured, options.maxSubquestions),
      options.signal,
    );
    return { ...result, subquestions: value };
  }

  async solve(
    example: Example,
    subquestions: readonly string[],
    options: SolveOptions,
  ): Promise<SolveResult> {
    const decoding = this.decoding(0);
    const { result, value } = await this.complete(
      (structured) => buildSolveBody(this.model, example, subquestions, decoding, structured),
      (content, finish, refusal, structured) =>
        interpretSolution(content, finish, refusal, structured, subquestions.length),
      options.signal,
    );
    return { ...result, ...value };
  }

  /** Turns a validated completion into a result (also used for Batch API output lines). */
  interpret<T>(
    completion: ChatCompletion,
    structured: boolean,
    interpret: Interpreter<T>,
    measured: { latencyMs: number; requests: number; priceFactor?: number; warnings?: string[] },
    promptText: string,
  ): { result: TeacherCallResult; value: T } {
    const choice = completion.choices[0]!;
    const raw = choice.message.content ?? '';
    const finishReason = normalizeFinishReason(choice.finish_reason);
    const warnings = [...(measured.warnings ?? [])];
    const usage = completion.usage
      ? { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens }
      : { inputTokens: estimateTokens(promptText), outputTokens: estimateTokens(raw) };
    if (!completion.usage)
      warnings.push('the endpoint reported no usage; tokens estimated as characters / 4');
    const price = lookupPrice(this.model, this.config.prices);
    if (price.warning !== undefined) warnings.push(price.warning);
    const interpretation = interpret(raw, finishReason, choice.message.refusal, structured);
    warnings.push(...interpretation.warnings);
    const result: TeacherCallResult = {
      status: interpretation.status,
      ...(interpretation.error === undefined ? {} : { error: interpretation.error }),
      raw,
      usage,
      costUsd: priceUsage(usage, price.price, measured.priceFactor ?? 1),
      savedUsd: 0,
      latencyMs: measured.latencyMs,
      finishReason,
      rawFinishReason: choice.finish_reason ?? undefined,
      warnings,
      requests: measured.requests,
      simulated: false,
    };
    return { result, value: interpretation.value };
  }

  /**
   * One chat completion through the adapter's retrying, rate-limited path: `build` makes the body
   * (with or without structured output), `interpret` validates the reply. Teachers and the openai
   * brick share this so both honour the same limits, retries and price table.
   */
  async complete<T>(
    build: (structured: boolean) => ChatRequestBody,
    interpret: Interpreter<T>,
    signal: AbortSignal | undefined,
  ): Promise<{ result: TeacherCallResult; value: T }> {
    const started = performance.now();
    const counter = { requests: 0 };
    const warnings: string[] = [];
    let structured = this.structured;
    let body = build(structured);
    let completion: ChatCompletion;
    try {
      completion = await this.sendWithRetries(body, counter, signal);
    } catch (error) {
      if (
        !structured ||
        (this.config.structuredOutput ?? 'auto') !== 'auto' ||
        !isStructuredOutputRejection(error)
      )
        throw error;
      structuredOutputSupport.set(this.baseURL, false);
      warnings.push(
        `${this.baseURL} rejected structured output; asked in plain text (remembered for this endpoint)`,
      );
      structured = false;
      body = build(false);
      completion = await this.sendWithRetries(body, counter, signal);
    }
    if (structured && (this.config.structuredOutput ?? 'auto') === 'auto')
      structuredOutputSupport.set(this.baseURL, true);
    const promptText = body.messages.map((message) => message.content).join('\n');
    return this.interpret(
      completion,
      structured,
      interpret,
      { latencyMs: performance.now() - started, requests: counter.requests, warnings },
      promptText,
    );
  }

  private sendWithRetries(
    body: ChatRequestBody,
    counter: { requests: number },
    signal?: AbortSignal,
  ): Promise<ChatCompletion> {
    const estimated =
      estimateTokens(body.messages.map((message) => message.content).join('\n')) + body.max_tokens;
    return withRetries(
      async () => {
        const ticket = await this.limiter.acquire(estimated, signal);
        const completion = await this.limit(() => {
          counter.requests += 1;
          this.requestCount += 1;
          return this.sendOnce(body, signal);
        });
        if (completion.usage)
          ticket.settle(completion.usage.prompt_tokens + completion.usage.completion_tokens);
        return completion;
      },
      {
        policy: this.policy,
        signal,
        random: this.config.random,
        sleep: this.config.sleep,
        onRetry: this.config.onRetry,
      },
    );
  }

  private async sendOnce(body: ChatRequestBody, signal?: AbortSignal): Promise<ChatCompletion> {
    const url = `${this.baseURL}/chat/completions`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let text: string;
    try {
      const response = await this.client.chat.completions
        .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, { signal: combined })
        .asResponse();
      text = await response.text();
    } catch (error) {
      throw this.translateError(error, url, timeout.aborted);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TeacherInvalidResponseError(
        url,
        `the body is not JSON (starts with ${JSON.stringify(text.slice(0, 40))})`,
      );
    }
    const validated = validateCompletion(json);
    if ('problem' in validated) throw new TeacherInvalidResponseError(url, validated.problem);
    return validated.completion;
  }

  private translateError(error: unknown, url: string, timedOut: boolean): TeacherError {
    return toTeacherError(error, url, this.timeoutMs, timedOut);
  }
}

/**
 * An `openai` SDK error as a TeacherError (retryable or not, with the server's `retry-after`);
 * shared with the other clients of OpenAI-compatible services (fine-tuning, batches).
 */
export function toTeacherError(
  error: unknown,
  url: string,
  timeoutMs: number,
  timedOut: boolean,
): TeacherError {
  if (timedOut) return new TeacherTimeoutError(timeoutMs, url);
  if (error instanceof APIUserAbortError) return new TeacherAbortError();
  if (error instanceof APIConnectionTimeoutError) return new TeacherTimeoutError(timeoutMs, url);
  if (error instanceof APIConnectionError) return new TeacherNetworkError(url, error.cause ?? error);
  if (error instanceof APIError && typeof error.status === 'number') {
    return new TeacherApiCallError({
      status: error.status,
      url,
      message: error.message,
      retryAfterMs: parseRetryAfterMs(error.headers),
      responseBody: error.error === undefined ? undefined : JSON.stringify(error.error),
      cause: error,
    });
  }
  if (error instanceof TeacherError) return error;
  if ((error as Error | undefined)?.name === 'AbortError') return new TeacherAbortError();
  return new TeacherNetworkError(url, error);
}
