/**
 * Request bodies, validated with zod. Chat completions accept what OpenAI clients send: known
 * fields are type-checked, unknown sampling fields (temperature, top_p, user, …) pass through
 * unused (a chain has its own decoding settings), and `n > 1`, tools and non-text content are
 * refused with the field named. `context` and `max_subquestions` are dnc extensions.
 */
import { z } from 'zod';

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
  tools: z.undefined({ error: 'tools are not supported by dnc chains; remove `tools`' }).optional(),
  context: z.string().optional(),
  max_subquestions: positiveInteger.optional(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export const decomposeRequestSchema = z.strictObject({
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
