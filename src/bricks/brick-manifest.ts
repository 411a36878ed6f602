/**
 * `brick.json`, the dnc manifest of an exported student brick: what it is for (role, prompt
 * format), how big it is, where it came from (data hash, teacher, training settings) and how well
 * it did (metrics). Validated with zod when written and when a brick is loaded.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { formatZodError } from '../data/zod-format.js';
import { PROMPT_FORMAT_VERSION, promptHash, promptStyleSchema, type PromptStyle } from '../prompts/index.js';

export const brickManifestFileName = 'brick.json';

export const brickRoleSchema = z.enum(['decomposer', 'solver'], {
  error: "role must be 'decomposer' or 'solver'",
});

export const lineageSchema = z.strictObject({
  /** Hash of the training data (null when the checkpoint did not record it). */
  dataHash: z.string().min(1).nullable(),
  /** The teacher whose outputs the student learned from (e.g. `reference`, `openai:gpt-4o-mini`). */
  teacher: z.string().min(1).nullable(),
  /** The trainer's settings (preset, steps, learning rate, ...), as the trainer recorded them. */
  training: z.record(z.string(), z.unknown()),
});

export const promptFormatSchema = z.strictObject({
  /**
   * The chat layout the brick was trained on (the tokenizer's chat template renders it): dnc's own
   * (`dnc-chat`) or a pretrained base's template (`base-template`).
   */
  chat: z.enum(['dnc-chat', 'base-template']),
  version: z.number().int().positive(),
  /**
   * How the brick's prompts are rendered: `instruct` (system message + user message) or `compact`
   * (user message only). Bricks exported before styles existed are `instruct`.
   */
  style: promptStyleSchema.default('instruct'),
  /** Hashes of the prompt templates (src/prompts) in force at export time. */
  hashes: z.strictObject({ decompose: z.string(), solve: z.string(), 'next-subquestion': z.string() }),
});

/** Decoding defaults the brick is run with (options of the runtime's generation loop). */
export const brickDecodingSchema = z.strictObject({
  /**
   * The decoding recipe the settings belong to (src/decoding): its id and version. Absent in a
   * brick.json from before recipes, which reads as `copy-names` when a helper below is on.
   */
  recipe: z.strictObject({ id: z.string().min(1), version: z.number().int().positive() }).optional(),
  /** Score added to tokens that continue copying a span of the prompt (0 or absent: off). */
  copyBias: z.number().nonnegative().optional(),
  /** The fewest tokens of the prompt the output must repeat before the copy bias applies. */
  copyMinMatch: z.number().int().positive().optional(),
  /** `word` (default): only tokens that continue a word gain the bias; `any`: every token. */
  copyScope: z.enum(['word', 'any']).optional(),
  /** Capitalized words spelled with two or more tokens must be words of the prompt (names are copied). */
  copyConstraint: z.boolean().optional(),
  /**
   * Capitalized words follow each other as in the prompt: a name starts where a prompt name
   * starts, goes on as it does there, and does not stop short (src/decoding/copy-names/name-order-constraint.ts).
   */
  nameOrder: z.boolean().optional(),
  /** Score added to tokens that start a lower-case word of the prompt (0 or absent: off). */
  promptWordBias: z.number().nonnegative().optional(),
  /**
   * Question key (a lower-case word, or two in a row) → answer words it all but decides, counted
   * by the trainer; they gain the prompt-word bias when the question has the key.
   */
  associations: z.record(z.string(), z.array(z.string().min(1))).optional(),
  /**
   * Terms the brick writes on its own (found in many training answers): the copy constraint lets
   * them pass like the prompt's own names and numbers.
   */
  knownTerms: z.array(z.string().min(1)).optional(),
  /**
   * Decomposers: when the greedy decomposition has a fault (leaves out a name of the question,
   * asks a sub-question twice, refers to a later step), sample this many more in one batch and keep
   * the first without one (0 or absent: off). See src/decoding/copy-names/decomposition-coverage.ts.
   */
  coverageSamples: z.number().int().nonnegative().optional(),
});

export const brickManifestSchema = z.strictObject({
  specificationVersion: z.literal('v1', { error: "specificationVersion must be 'v1'" }),
  role: brickRoleSchema,
  kind: z.literal('onnx', { error: "kind must be 'onnx' for a brick directory" }),
  promptFormat: promptFormatSchema,
  /** Trainable parameters (tied embeddings counted once). */
  parameters: z.number().int().positive(),
  lineage: lineageSchema,
  metrics: z.record(z.string(), z.number().nullable()),
  decoding: brickDecodingSchema.optional(),
  /** Present when onnx/model.onnx holds quantized weights (`dnc export --quantize`; src/export/quantize-onnx.ts). */
  quantization: z
    .strictObject({
      mode: z.enum(['int8', 'int4']),
      kernel: z.enum(['MatMulNBits', 'DynamicQuantizeMatMul']),
      bits: z.union([z.literal(4), z.literal(8)]),
      blockSize: z.number().int().positive().optional(),
      accuracyLevel: z.number().int().min(0).max(4).optional(),
      matrices: z.number().int().positive(),
      quantizedParameters: z.number().int().positive(),
    })
    .optional(),
});

export type BrickRole = z.infer<typeof brickRoleSchema>;
export type Lineage = z.infer<typeof lineageSchema>;
export type BrickManifest = z.infer<typeof brickManifestSchema>;
export type BrickDecoding = z.infer<typeof brickDecodingSchema>;

/** The prompt format of the prompts module as it is now, in a style. */
export function currentPromptFormat(
  style: PromptStyle = 'instruct',
  chat: BrickManifest['promptFormat']['chat'] = 'dnc-chat',
): BrickManifest['promptFormat'] {
  return {
    chat,
    version: PROMPT_FORMAT_VERSION,
    style,
    hashes: {
      decompose: promptHash('decompose', style),
      solve: promptHash('solve', style),
      'next-subquestion': promptHash('next-subquestion', style),
    },
  };
}

/**
 * The prompt style a student was trained with, as its lineage records it (the trainer's
 * `promptFormat` setting); `instruct` when the lineage predates the setting.
 */
export function lineagePromptStyle(lineage: Lineage): PromptStyle {
  const recorded = lineage.training.promptFormat;
  if (recorded === undefined) return 'instruct';
  const parsed = promptStyleSchema.safeParse(recorded);
  if (!parsed.success)
    throw new Error(
      `the checkpoint's lineage records the prompt format ${JSON.stringify(recorded)}, which is neither ` +
        "'instruct' nor 'compact'; fix training.promptFormat in its student.json",
    );
  return parsed.data;
}

/** Reads and validates `brick.json`; errors name the file and say how to fix it. */
export async function readBrickManifest(directory: string): Promise<BrickManifest> {
  const file = join(directory, brickManifestFileName);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(
      `${file} is missing (${(error as Error).message}); a brick directory needs brick.json: ` +
        're-export it with `dnc export CHECKPOINT_DIR --out BRICK_DIR`',
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: invalid JSON (${(error as Error).message}); re-export the brick`, {
      cause: error,
    });
  }
  const parsed = brickManifestSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `${file}: not a valid dnc brick manifest: ${formatZodError(parsed.error)}; re-export the brick`,
    );
  return parsed.data;
}
