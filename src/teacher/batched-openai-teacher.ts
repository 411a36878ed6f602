/**
 * An `openai:MODEL` teacher whose chat completions go through the Batch API (at its price
 * factor) instead of one HTTP request each: the same request bodies and the same interpretation
 * as the direct path (OpenAITeacher.interpret), so a brick built on it answers and prices alike.
 * An endpoint that rejects structured output in a batch line is remembered and asked in plain
 * text, as on the direct path.
 */
import { lineError } from './batch-api.js';
import { BatchRequestQueue, type BatchQueueOptions } from './batch-request-queue.js';
import { TeacherInvalidResponseError } from './errors.js';
import { validateCompletion, type ChatRequestBody } from './openai-protocol.js';
import {
  OpenAITeacher,
  isStructuredOutputRejection,
  type Interpreter,
  type OpenAITeacherConfig,
} from './openai-teacher.js';
import type { TeacherCallResult } from './types.js';

export interface BatchedTeacherOptions extends Omit<BatchQueueOptions, 'createdBy'> {
  /** Price factor of batch requests (OpenAI: 0.5). */
  priceFactor: number;
  createdBy?: string;
}

export class BatchedOpenAITeacher extends OpenAITeacher {
  readonly queue: BatchRequestQueue;

  constructor(
    config: OpenAITeacherConfig,
    private readonly batchOptions: BatchedTeacherOptions,
  ) {
    super(config);
    this.queue = new BatchRequestQueue(this.managementClient(), {
      ...batchOptions,
      createdBy: batchOptions.createdBy ?? 'dnc eval',
    });
  }

  override async complete<T>(
    build: (structured: boolean) => ChatRequestBody,
    interpret: Interpreter<T>,
    _signal: AbortSignal | undefined,
  ): Promise<{ result: TeacherCallResult; value: T }> {
    const started = performance.now();
    let structured = this.structured;
    let body = build(structured);
    let answer = await this.queue.request(body);
    if (structured && answer.line?.response?.status_code !== 200) {
      if (isStructuredOutputRejection(lineError(answer.line, answer.batch))) {
        this.rememberStructuredOutputSupport(false);
        structured = false;
        body = build(false);
        answer = await this.queue.request(body);
      }
    }
    const { line, batch } = answer;
    if (line?.response?.status_code !== 200) throw lineError(line, batch);
    const validated = validateCompletion(line.response.body);
    if ('problem' in validated) throw new TeacherInvalidResponseError(`batch ${batch.id}`, validated.problem);
    const promptText = body.messages.map((message) => message.content).join('\n');
    const measured = {
      latencyMs: performance.now() - started,
      requests: 1,
      priceFactor: this.batchOptions.priceFactor,
    };
    return this.interpret(validated.completion, structured, interpret, measured, promptText);
  }
}
