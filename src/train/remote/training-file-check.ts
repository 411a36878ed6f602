/**
 * Checks a chat JSONL file against a managed fine-tuning service's rules before anything is
 * uploaded (OpenAI's published rules for chat fine-tuning, which compatible services follow):
 * every line a `{ "messages": [...] }` object, roles system / user / assistant only, at least one
 * assistant message and no empty one, at most the per-example token limit, at least 10 examples
 * in a training file, at most 512 MB. Each problem is one line naming the file line. Tokens are
 * estimated (characters / 4 plus the chat format's per-message overhead): no tokenizer of the
 * remote model ships with dnc, so the estimate and the limit check are approximate.
 */
import { z } from 'zod';
import { estimateTokens } from '../../teacher/pricing.js';

export const minimumTrainingExamples = 10;
export const maximumFileBytes = 512 * 1024 * 1024;

/** Tokens per training example by base model (longest prefix wins); others get the default. */
const exampleTokenLimits: Readonly<Record<string, number>> = {
  'gpt-3.5-turbo': 16_385,
  'gpt-4o-mini': 65_536,
  'gpt-4o': 65_536,
  'gpt-4.1': 65_536,
};
const defaultExampleTokenLimit = 65_536;

export function exampleTokenLimit(base: string): number {
  const entry = Object.keys(exampleTokenLimits)
    .filter((name) => base === name || base.startsWith(`${name}-`))
    .sort((left, right) => right.length - left.length)[0];
  return entry === undefined ? defaultExampleTokenLimit : exampleTokenLimits[entry]!;
}

/** Per message: the content plus about 4 tokens of chat framing; 3 more prime the reply (OpenAI's cookbook count). */
export function estimateExampleTokens(messages: readonly { content?: string | null }[]): number {
  return messages.reduce((sum, message) => sum + 4 + estimateTokens(message.content ?? ''), 3);
}

const lineSchema = z.object({
  messages: z
    .array(
      z.object({
        role: z.string(),
        content: z.string().nullable().optional(),
        weight: z.union([z.literal(0), z.literal(1)]).optional(),
      }),
    )
    .min(1, 'it has no messages'),
});

const allowedRoles = new Set(['system', 'user', 'assistant']);

export interface TrainingFileCheck {
  examples: number;
  /** Estimated tokens of all examples (one epoch). */
  tokens: number;
  /** One line per problem, each naming the file and line. */
  problems: string[];
}

function lineProblems(line: string, base: string): { problems: string[]; tokens: number } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { problems: ['is not valid JSON'], tokens: 0 };
  }
  const parsed = lineSchema.safeParse(json);
  if (!parsed.success)
    return { problems: ['is not {"messages": [{"role", "content"}, ...]} (see `dnc collect`)'], tokens: 0 };
  const { messages } = parsed.data;
  const problems: string[] = [];
  messages.forEach((message, index) => {
    if (!allowedRoles.has(message.role))
      problems.push(`message ${index + 1} has role '${message.role}'; use system, user or assistant`);
    if (message.role === 'assistant' && (message.content ?? '').trim() === '')
      problems.push(`message ${index + 1} is an empty assistant turn; give it the text to learn or drop it`);
  });
  if (!messages.some((message) => message.role === 'assistant'))
    problems.push('has no assistant message (the text to learn)');
  const tokens = estimateExampleTokens(messages);
  const limit = exampleTokenLimit(base);
  if (tokens > limit)
    problems.push(
      `is about ${tokens} tokens, over the ${limit}-token limit per example of ${base}; shorten or drop it`,
    );
  return { problems, tokens };
}

/** Checks the text of a JSONL file; `minimumExamples` is 10 for training files, 1 for validation files. */
export function checkTrainingFile(
  file: string,
  text: string,
  base: string,
  minimumExamples = minimumTrainingExamples,
): TrainingFileCheck {
  const problems: string[] = [];
  let examples = 0;
  let tokens = 0;
  if (Buffer.byteLength(text, 'utf8') > maximumFileBytes)
    problems.push(`${file}: larger than the 512 MB a fine-tuning upload may be; split it`);
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    examples += 1;
    const checked = lineProblems(line, base);
    tokens += checked.tokens;
    for (const problem of checked.problems) problems.push(`${file} line ${index + 1}: ${problem}`);
  });
  if (examples < minimumExamples)
    problems.push(
      `${file}: ${examples} example${examples === 1 ? '' : 's'}; the service needs at least ${minimumExamples}`,
    );
  return { examples, tokens, problems };
}
