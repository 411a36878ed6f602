/**
 * Teacher forcing of a decoding recipe: every teacher decomposition of a chat dataset is fed
 * token by token through each of the recipe's logits processors, as if the brick had written it,
 * and each step records whether the processor would forbid the teacher's next token (score set
 * to -Infinity) or demote it (another token now scores higher, from equal scores). A recipe
 * must forbid no teacher token before a pipeline turns it on: a constraint that rejects what the
 * teacher writes also rejects what a good student writes.
 */
import { defaults } from '../config/defaults.js';
import type { ChatExample, ChatMessage } from '../data/schemas.js';
import { parseSubquestions } from '../prompts/index.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { PreparedRecipe } from './recipe.js';

/** Where a processor first forbade a teacher token of one decomposition. */
export interface Rejection {
  /** 0-based line of the dataset. */
  record: number;
  processor: string;
  /** 0-based index of the forbidden token in the teacher's answer. */
  tokenIndex: number;
  token: string;
  /** The answer's text before the forbidden token (its last 60 characters). */
  context: string;
}

export interface ProcessorTally {
  tokens: number;
  forbidden: number;
  demoted: number;
  forbiddenShare: number;
  demotedShare: number;
}

export interface RecipeCheckReport {
  recipe: string;
  decompositions: number;
  /** Decompositions with at least one forbidden token. */
  rejected: number;
  /** Teacher decompositions the recipe's reranker calls faulty (they would be resampled). */
  faulty: number;
  processors: Record<string, ProcessorTally>;
  /** The first forbidden token of each rejected decomposition (at most `maxRejections`). */
  rejections: Rejection[];
}

/** The chat split into the prompt (every message before the last assistant one) and the answer. */
function splitChat(example: ChatExample): { prompt: ChatMessage[]; answer: string; question: string } {
  const last = example.messages.findLastIndex((message) => message.role === 'assistant');
  const prompt = example.messages.slice(0, last);
  const question = prompt.findLast((message) => message.role === 'user')?.content ?? '';
  return { prompt, answer: example.messages[last]!.content, question };
}

/** Teacher-forces one decomposition through the processors; returns its first forbidden token. */
function forceOne(
  recipe: PreparedRecipe,
  tokenizer: Tokenizer,
  example: ChatExample,
  record: number,
  tallies: Map<string, { tokens: number; forbidden: number; demoted: number }>,
): { rejection: Rejection | undefined; faulty: boolean } {
  const { prompt, answer, question } = splitChat(example);
  const promptTokens = tokenizer.encode(tokenizer.applyChatTemplate(prompt, { addGenerationPrompt: true }), {
    addSpecialTokens: false,
  });
  const answerTokens = tokenizer.encode(answer, { addSpecialTokens: false });
  const processors = recipe.processors();
  const logits = new Float32Array(tokenizer.vocabSize);
  let rejection: Rejection | undefined;
  for (let index = 0; index < answerTokens.length; index += 1) {
    const teacherToken = answerTokens[index]!;
    const tokens = [...promptTokens, ...answerTokens.slice(0, index)];
    for (const processor of processors) {
      logits.fill(0);
      processor.process(logits, { tokens, generatedCount: index });
      const tally = tallies.get(processor.name) ?? { tokens: 0, forbidden: 0, demoted: 0 };
      tallies.set(processor.name, tally);
      tally.tokens += 1;
      const score = logits[teacherToken]!;
      if (score === -Infinity) {
        tally.forbidden += 1;
        rejection ??= {
          record,
          processor: processor.name,
          tokenIndex: index,
          token: tokenizer.decode([teacherToken]),
          context: tokenizer.decode(answerTokens.slice(0, index)).slice(-60),
        };
      } else if (logits.some((other) => other > score)) tally.demoted += 1;
    }
  }
  const faults =
    recipe.reranker?.faults(question, parseSubquestions(answer, defaults.prompts.maxSubquestions)) ?? [];
  return { rejection, faulty: faults.length > 0 };
}

/** Teacher-forces every decomposition of `examples` through the recipe's processors. */
export function checkRecipe(
  recipe: PreparedRecipe,
  tokenizer: Tokenizer,
  examples: readonly ChatExample[],
  maxRejections = 20,
): RecipeCheckReport {
  const tallies = new Map<string, { tokens: number; forbidden: number; demoted: number }>();
  const rejections: Rejection[] = [];
  let rejected = 0;
  let faulty = 0;
  examples.forEach((example, record) => {
    const result = forceOne(recipe, tokenizer, example, record, tallies);
    if (result.faulty) faulty += 1;
    if (result.rejection === undefined) return;
    rejected += 1;
    if (rejections.length < maxRejections) rejections.push(result.rejection);
  });
  const processors = Object.fromEntries(
    [...tallies].map(([name, tally]) => [
      name,
      {
        ...tally,
        forbiddenShare: tally.forbidden / Math.max(1, tally.tokens),
        demotedShare: tally.demoted / Math.max(1, tally.tokens),
      },
    ]),
  );
  return { recipe: recipe.key, decompositions: examples.length, rejected, faulty, processors, rejections };
}
