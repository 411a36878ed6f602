/**
 * The trainer's data: chat JSONL (the OpenAI fine-tuning shape that `dnc collect` writes) read with
 * file:line errors, hashed (the checkpoint records which data it was trained on), split into
 * training and validation examples (seeded), and encoded into token ids with the assistant-only
 * loss mask. Examples longer than the training context are counted and either truncated or
 * skipped, as the user chose.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors/user-error.js';
import { defaults } from '../config/defaults.js';
import { readJsonlAll } from '../data/jsonl.js';
import { type ChatExample, chatExampleSchema } from '../data/schemas.js';
import { encodeChatForTraining } from '../tokenizer/chat-encoding.js';
import { type Tokenizer } from '../tokenizer/tokenizer.js';
import { type Document, documentPositions, seededPermutation } from './packing.js';

export type LongExamplePolicy = 'truncate' | 'skip';

export interface ChatData {
  examples: ChatExample[];
  /** `sha256:` + hex digest of the file's bytes. */
  dataHash: string;
}

/** Reads and validates the training file; an empty file is an error that says what to do. */
export async function readChatData(file: string): Promise<ChatData> {
  const examples = await readJsonlAll(file, chatExampleSchema);
  if (examples.length === 0)
    throw new UserError(
      `${file} holds no training examples; give a chat JSONL file with one {"messages": [...]} per line ` +
        '(e.g. DIR/train-decomposer.jsonl from `dnc collect`)',
    );
  const dataHash = `sha256:${createHash('sha256')
    .update(await readFile(file))
    .digest('hex')}`;
  return { examples, dataHash };
}

/** The texts the BPE tokenizer learns from: every message's content. */
export function tokenizerTexts(examples: readonly ChatExample[]): string[] {
  return examples.flatMap((example) => example.messages.map((message) => message.content));
}

export interface ValidationSplit {
  train: ChatExample[];
  validation: ChatExample[];
}

/**
 * A seeded split: `validationFraction` of the examples (at least `validationMinimum`) go to
 * validation; sets smaller than `validationMinimumSet` are all used for training.
 */
export function splitValidation(examples: readonly ChatExample[], seed: number): ValidationSplit {
  const { validationFraction, validationMinimum, validationMinimumSet } = defaults.train;
  if (examples.length < validationMinimumSet) return { train: [...examples], validation: [] };
  const count = Math.max(validationMinimum, Math.round(examples.length * validationFraction));
  const order = seededPermutation(examples.length, seed, 'validation-split');
  const isValidation = new Set(order.slice(0, count));
  return {
    train: examples.filter((_, index) => !isValidation.has(index)),
    validation: examples.filter((_, index) => isValidation.has(index)),
  };
}

export interface EncodedSet {
  documents: Document[];
  /** Examples longer than the context (before truncating or skipping them). */
  longExamples: number;
  skipped: number;
  truncated: number;
}

/**
 * Encodes examples for the training context of `sequenceLength` positions (a document of L tokens
 * fills L − 1). Longer ones are cut to the first `sequenceLength + 1` tokens or dropped.
 */
/** Training examples checked against the chat template: the first this many, then one in this many. */
const verifyEvery = 32;

export function encodeExamples(
  tokenizer: Tokenizer,
  examples: readonly ChatExample[],
  sequenceLength: number,
  policy: LongExamplePolicy,
): EncodedSet {
  const result: EncodedSet = { documents: [], longExamples: 0, skipped: 0, truncated: 0 };
  const cache = new Map<string, number[]>();
  for (const [index, example] of examples.entries()) {
    // The template check runs on the first examples and then one in `verifyEvery` (see
    // ChatEncodingOptions.verify): checking all of them took 60% of encoding time.
    const verify = index < verifyEvery || index % verifyEvery === 0;
    const encoded = encodeChatForTraining(tokenizer, example.messages, { verify, cache });
    if (documentPositions(encoded) <= sequenceLength) {
      result.documents.push(encoded);
      continue;
    }
    result.longExamples += 1;
    if (policy === 'skip') {
      result.skipped += 1;
      continue;
    }
    result.truncated += 1;
    result.documents.push({
      inputIds: encoded.inputIds.slice(0, sequenceLength + 1),
      lossMask: encoded.lossMask.slice(0, sequenceLength + 1),
    });
  }
  return result;
}
