/**
 * The `openai:MODEL` brick: any OpenAI-compatible endpoint, through the teacher adapter's
 * client (its retries, timeout, concurrency and rate limits, price table and structured
 * output fallback). Decomposing and one-call solving use the teacher's own requests; solving
 * with earlier answers and proposing the next sub-question (dynamic mode) send the runtime's
 * prompts through the same request path.
 */
import type { Example } from '../../data/schemas.js';
import {
  parseNextSubquestion,
  renderNextSubquestionPrompt,
  renderSolvePrompt,
  type AnsweredSubquestion,
} from '../../prompts/index.js';
import { interpretSolution, type ChatRequestBody } from '../../teacher/openai-protocol.js';
import { OpenAITeacher, type Interpreter, type OpenAITeacherConfig } from '../../teacher/openai-teacher.js';
import type { TeacherCallResult } from '../../teacher/types.js';
import type {
  Brick,
  BrickCallReport,
  BrickResult,
  DecomposeInput,
  DecomposeOutput,
  NextSubquestionInput,
  NextSubquestionOutput,
  SolveInput,
  SolveOutput,
} from './brick.js';
import type { ParsedBrickSpec } from './brick-spec.js';
import type { BrickLoader, LoadBrickOptions } from './registry.js';

type TeacherRequest = <T>(
  build: (structured: boolean) => ChatRequestBody,
  interpret: Interpreter<T>,
  signal: AbortSignal | undefined,
) => Promise<{ result: TeacherCallResult; value: T }>;

function report(result: TeacherCallResult): BrickCallReport {
  const warnings = [...result.warnings];
  if (result.status === 'invalid' && result.error !== undefined) warnings.push(result.error);
  const call: BrickCallReport = {
    usage: result.usage,
    latencyMs: result.latencyMs,
    costUsd: result.costUsd,
    raw: result.raw,
    warnings,
    finishReason: result.finishReason,
    rawFinishReason: result.rawFinishReason,
  };
  if (result.savedUsd > 0) call.savedUsd = result.savedUsd;
  return call;
}

/** The example the teacher's request builders read: the call's own question and context. */
function asExample(input: { question: string; context?: string; example?: Example }): Example {
  const base = input.example ?? { id: 'question', dataset: 'ask', answer: '', answerType: 'text' as const };
  return { ...base, question: input.question, context: input.context };
}

export class OpenAIBrick implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'openai' as const;
  readonly spec: string;
  readonly model: string;
  private readonly request: TeacherRequest;

  constructor(
    readonly teacher: OpenAITeacher,
    private readonly maxOutputTokens = 512,
  ) {
    this.model = teacher.model;
    this.spec = teacher.id;
    // The teacher's retrying, rate-limited request path: a body builder and an interpreter is all a brick needs.
    this.request = teacher.complete.bind(teacher) as TeacherRequest;
  }

  private body(messages: ChatRequestBody['messages']): ChatRequestBody {
    return { model: this.model, messages, temperature: 0, max_tokens: this.maxOutputTokens };
  }

  async decompose(input: DecomposeInput): Promise<BrickResult<DecomposeOutput>> {
    const result = await this.teacher.decompose(asExample(input), {
      maxSubquestions: input.maxSubquestions,
      signal: input.signal,
    });
    const kind =
      result.status === 'invalid'
        ? 'failed'
        : result.subquestions.length === 0
          ? 'no-decomposition'
          : 'subquestions';
    return { subquestions: result.status === 'ok' ? result.subquestions : [], kind, ...report(result) };
  }

  async nextSubquestion(input: NextSubquestionInput): Promise<BrickResult<NextSubquestionOutput>> {
    const messages = renderNextSubquestionPrompt(input);
    const { result, value } = await this.request(
      () => this.body(messages),
      (content) => {
        const parsed = parseNextSubquestion(content);
        const usable = parsed.subquestion !== null || parsed.done;
        return {
          status: usable ? 'ok' : 'invalid',
          error: usable ? undefined : 'no "Next: ..." and no "Done."',
          value: parsed,
          warnings: parsed.warnings,
        };
      },
      input.signal,
    );
    return { subquestion: value.subquestion, done: value.done, ...report(result) };
  }

  async solve(input: SolveInput): Promise<BrickResult<SolveOutput>> {
    const previous: readonly AnsweredSubquestion[] = input.previous ?? [];
    const { result, value } =
      previous.length === 0
        ? await this.teacher
            .solve(asExample(input), input.subquestions, { signal: input.signal })
            .then((solved) => ({ result: solved, value: solved }))
        : await this.request(
            () => this.body(renderSolvePrompt({ ...input, previous })),
            (content, finish, refusal) =>
              interpretSolution(content, finish, refusal, false, input.subquestions.length),
            input.signal,
          );
    const solved: BrickResult<SolveOutput> = {
      subanswers: value.subanswers,
      answer: value.answer,
      ...report(result),
    };
    if (result.status === 'invalid' && input.subquestions.length > 0)
      solved.unanswerable = {
        index: value.subanswers.length,
        subquestion: input.subquestions[value.subanswers.length] ?? input.subquestions[0],
        reason: result.error ?? 'the solver gave no usable answer',
      };
    return solved;
  }
}

/** The teacher configuration of an `openai:MODEL` brick, from the load options' environment and prices. */
export function openaiBrickConfig(spec: ParsedBrickSpec, options: LoadBrickOptions): OpenAITeacherConfig {
  const env = options.env ?? process.env;
  if (env.OPENAI_BASE_URL === undefined && env.OPENAI_API_KEY === undefined)
    throw new Error(
      `${spec.spec} needs OPENAI_API_KEY (for the OpenAI API) or OPENAI_BASE_URL (for another ` +
        'OpenAI-compatible endpoint such as vLLM, Ollama or llama.cpp server); set one in the environment',
    );
  return {
    model: spec.model as string,
    baseURL: env.OPENAI_BASE_URL,
    apiKey: env.OPENAI_API_KEY,
    prices: options.prices,
  };
}

export const openaiBrickLoader: BrickLoader = {
  kind: 'openai',
  load: async (spec, options) => new OpenAIBrick(new OpenAITeacher(openaiBrickConfig(spec, options))),
};
