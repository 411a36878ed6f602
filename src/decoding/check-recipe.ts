/**
 * Teacher forcing of a decoding recipe: every teacher decomposition of a chat dataset is fed
 * token by token through each of the recipe's logits processors, as if the brick had written it,
 * and each step records whether the processor would forbid the teacher's next token (score set
 * to -Infinity) or demote it (another token now scores higher, from equal scores). A recipe
 * must forbid no teacher token before a pipeline turns it on: a constraint that rejects what the
 * teacher writes also rejects what a good student writes.
 */
import { defaults } from '../config/defaults.js';
import { readJsonlAll } from '../data/jsonl.js';
import { chatExampleSchema, type ChatExample, type ChatMessage } from '../data/schemas.js';
import { readBrickManifest } from '../bricks/brick-manifest.js';
import { parseSubquestions } from '../prompts/index.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import type { PreparedRecipe } from './recipe.js';
import { brickRecipe } from './registry.js';

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

/** How many training decompositions a pipeline teacher-forces before it keeps a recipe on. */
export const pipelineCheckLimit = 500;

/**
 * Teacher-forces the first `limit` decompositions of `dataFile` through the recipe the brick's
 * brick.json names (undefined when it names none).
 */
export async function checkBrickDecoding(
  brickDirectory: string,
  dataFile: string,
  limit = pipelineCheckLimit,
): Promise<RecipeCheckReport | undefined> {
  const manifest = await readBrickManifest(brickDirectory);
  const recipe = brickRecipe(manifest.decoding);
  if (recipe === undefined) return undefined;
  const tokenizer = await Tokenizer.load(brickDirectory);
  const examples = await readJsonlAll(dataFile, chatExampleSchema);
  return checkRecipe(recipe.prepare(manifest.decoding!, tokenizer), tokenizer, examples.slice(0, limit));
}

/** One line saying where a recipe first forbade a teacher token (for an error message). */
export function describeRejections(report: RecipeCheckReport): string {
  const first = report.rejections[0];
  const where =
    first === undefined
      ? ''
      : ` (first: decomposition ${first.record + 1}, ${first.processor} forbids ${JSON.stringify(first.token)} after ${JSON.stringify(first.context)})`;
  return `the ${report.recipe} decoding recipe forbids teacher tokens in ${report.rejected} of ${report.decompositions} training decompositions${where}`;
}
