/**
 * Request bodies, validated with zod. Chat completions accept what OpenAI clients send: known
 * fields are type-checked, unknown sampling fields (temperature, top_p, user, …) pass through
 * unused (a chain has its own decoding settings), and `n > 1`, tools and non-text content are
 * refused with the field named. `context` and `max_subquestions` are dnc extensions.
 */
import { z } from 'zod';
import { ApiError } from './api-error.js';

/** Throws a 415 unless the request says its body is JSON (`application/json` or `…+json`). */
export function requireJsonBody(contentType: string | undefined): void {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType === 'application/json' || /^application\/[\w.-]+\+json$/.test(mediaType)) return;
  throw new ApiError(
    415,
    'invalid_request_error',
    `${mediaType === '' ? 'no Content-Type' : `Content-Type ${mediaType}`} is not supported; send a JSON body with Content-Type: application/json`,
    { code: 'unsupported_media_type' },
  );
}

/** Throws a 400 when `text` (the question or its context) is longer than `limit` characters. */
export function checkTextLength(text: string | undefined, limit: number, param: string, what: string): void {
  if (text === undefined || text.length <= limit) return;
  throw new ApiError(
    400,
    'invalid_request_error',
    `${what} has ${text.length} characters, above this server's limit of ${limit}; shorten it, or raise limits.questionChars in the serve config`,
    { param, code: 'question_too_long' },
  );
}

const textPartSchema = z.looseObject({ type: z.literal('text'), text: z.string() });

const messageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool'], {
    error: 'role must be one of system, developer, user, assistant, tool',
  }),
  content: z
    .union([z.string(), z.array(textPartSchema), z.null()], {
      error: 'content must be a string or an array of { "type": "text", "text": ... } parts',
    })
    .optional(),
});

const positiveInteger = z.number().int('must be a whole number').positive('must be > 0');

export const chatCompletionRequestSchema = z.looseObject({
  model: z
    .string({ error: 'model is required: the name of a served chain (GET /v1/models lists them)' })
    .min(1),
  messages: z.array(messageSchema, { error: 'messages must be an array of chat messages' }).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: positiveInteger.nullish(),
  max_completion_tokens: positiveInteger.nullish(),
  n: z.literal(1, { error: 'only n = 1 is supported (a chain gives one answer)' }).nullish(),
  // OpenAI clients routinely send `tools: []`; an empty list asks for nothing and is accepted.
  tools: z
    .array(z.unknown(), { error: 'tools must be an array' })
    .max(0, 'tools are not supported by dnc chains; send no tools (or `tools: []`)')
    .nullish(),
  context: z.string().optional(),
  max_subquestions: positiveInteger.optional(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** Known fields are checked; unknown ones (`user`, `metadata`, …) pass through unused, as in chat completions. */
export const decomposeRequestSchema = z.looseObject({
  model: z
    .string({ error: 'model is required: the name of a served chain (GET /v1/models lists them)' })
    .min(1),
  question: z.string({ error: 'question is required (a string)' }).min(1, 'question is empty'),
  context: z.string().optional(),
  max_subquestions: positiveInteger.optional(),
});
export type DecomposeRequest = z.infer<typeof decomposeRequestSchema>;

type Message = ChatCompletionRequest['messages'][number];

function messageText(message: Message): string {
  const content = message.content;
  if (content === undefined || content === null) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

/** The question: the last user message's text; undefined when there is no non-empty one. */
export function questionOf(request: ChatCompletionRequest): string | undefined {
  const last = request.messages.filter((message) => message.role === 'user').at(-1);
  const text = last === undefined ? '' : messageText(last).trim();
  return text === '' ? undefined : text;
}
