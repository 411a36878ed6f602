/**
 * Pipeline files (`pipelines/*.json`): every stage's inputs and settings in one strict object.
 *
 *   { name, description?, datasets: [ { name, file, format?, limit? } | { name, world, split, n, seed } ],
 *     teacher, collect?: { filter, concurrency, maxSubquestions, ... }, students: [ { name, role, preset, ... } ],
 *     export?: { students? }, eval?: "eval/NAME.json" | { inline suite } }
 *
 * Every object is strict (an unknown key is an error naming it). Eval chains may name a trained
 * student as `student:NAME`; `load-pipeline.ts` resolves it to the student's exported brick directory.
 */
import { z } from 'zod';
import { brickDecodingSchema } from '../bricks/brick-manifest.js';
import { promptStyleSchema } from '../prompts/prompt-style.js';
import { chainSchema } from '../data/schemas.js';
import { formatNames } from '../data/convert/index.js';
import { fileDatasetSchema, worldDatasetSchema } from '../eval/suite.js';
import { projectionNames } from '../student/config.js';

const nameSchema = (what: string) =>
  z
    .string()
    .min(1, `${what} needs a non-empty name`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, `${what} name may hold only letters, digits, '.', '_' and '-'`);

const positiveInteger = z.number().int().positive();

/** A dataset file, converted from a published format when `format` is given. */
export const pipelineFileDatasetSchema = fileDatasetSchema.extend({
  format: z.enum(formatNames).optional(),
  /** Keep only the first N examples. */
  limit: positiveInteger.optional(),
});
export type PipelineFileDataset = z.infer<typeof pipelineFileDatasetSchema>;
export type PipelineWorldDataset = z.infer<typeof worldDatasetSchema>;
export type PipelineDataset = PipelineFileDataset | PipelineWorldDataset;

/**
 * A dataset is told apart by its keys (`file` or `world`), so that an error lists the problems of
 * the shape the author meant rather than zod's "no union member matched".
 */
const datasetSchema = z.unknown().transform((value, context): PipelineDataset => {
  const isObject = typeof value === 'object' && value !== null;
  const isFile = isObject && 'file' in value;
  const isWorld = isObject && 'world' in value;
  if (isFile === isWorld) {
    context.addIssue({
      code: 'custom',
      message:
        'a dataset is `{ "name", "file": PATH, "format"?, "limit"? }` or `{ "name", "world": "hops"|"math", "split", "n", "seed" }`',
    });
    return z.NEVER;
  }
  const parsed = (isFile ? pipelineFileDatasetSchema : worldDatasetSchema).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) context.addIssue({ ...issue, code: 'custom', path: issue.path });
  return z.NEVER;
});

const priceSchema = z.strictObject({
  inputPerMillion: z.number().finite().nonnegative(),
  outputPerMillion: z.number().finite().nonnegative(),
});

export const collectSettingsSchema = z.strictObject({
  /** `all` keeps every valid decomposition (SD-T); `correct` keeps those that reached the gold answer (SD-R). */
  filter: z.enum(['all', 'correct']).optional(),
  secondSample: z.boolean().optional(),
  concurrency: positiveInteger.optional(),
  maxSubquestions: positiveInteger.optional(),
  maxAttempts: positiveInteger.optional(),
  timeoutMs: positiveInteger.optional(),
  maxRetries: z.number().int().nonnegative().optional(),
  rpm: positiveInteger.optional(),
  tpm: positiveInteger.optional(),
  /** Price overrides (dollars per million tokens), merged over the configured table. */
  prices: z.record(z.string().min(1), priceSchema).optional(),
});
export type PipelineCollectSettings = z.infer<typeof collectSettingsSchema>;

/** A student to train: a preset (`nano`, `tiny`, `small` or a preset file) and training overrides. */
export const studentSchema = z.strictObject({
  name: nameSchema('a student'),
  role: z.enum(['decomposer', 'solver']),
  /** Needed by the `dnc` backend; an `openai` student has none. */
  preset: z
    .string()
    .min(1, '`preset` is a student preset name (nano, micro, tiny, small) or a preset JSON path')
    .optional(),
  /** `dnc` (default): trained here; `openai`: fine-tuned by an OpenAI-compatible service (`base` names the model). */
  backend: z.enum(['dnc', 'openai']).optional(),
  /**
   * With backend `dnc`: a Hugging Face model directory to fine-tune instead of a `preset` (its
   * tokenizer and chat template are kept). With backend `openai`: the remote model to fine-tune
   * (e.g. gpt-4o-mini-2024-07-18).
   */
  base: z.string().min(1).optional(),
  /** With a local `base`: a Jinja chat template file replacing the base's. */
  chatTemplate: z.string().min(1).optional(),
  /** With a local `base`: train a LoRA adapter on the frozen base (PEFT's definition) instead of every weight. */
  lora: z
    .strictObject({
      rank: positiveInteger,
      /** Default 8 (PEFT's): the LoRA path is scaled by alpha / rank. */
      alpha: z.number().positive().optional(),
      /** Default 0 (PEFT's): dropout on the LoRA path's input while training (validation and export see none). */
      dropout: z.number().min(0).lt(1, 'lora.dropout must be below 1 (PEFT uses 0.05 or 0.1)').optional(),
      /** Default: every projection (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj). */
      targets: z.array(z.enum(projectionNames)).min(1).optional(),
    })
    .optional(),
  /** With backend `openai`: a suffix for the fine-tuned model's name. */
  suffix: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'suffix: up to 40 letters, digits, - and _')
    .optional(),
  /** With backend `openai`: dollars the training estimate may reach (above it the run stops before paying). */
  maxUsd: z.number().nonnegative().optional(),
  /** With backend `openai`: milliseconds between polls of the job (default 10,000). */
  pollIntervalMs: positiveInteger.optional(),
  maxSteps: positiveInteger.optional(),
  epochs: positiveInteger.optional(),
  learningRate: z.number().positive().optional(),
  warmupSteps: z.number().int().nonnegative().optional(),
  batchSize: positiveInteger.optional(),
  /** Rows per forward/backward pass (gradient accumulation; `dnc train --micro-batch-size`). */
  microBatchSize: positiveInteger.optional(),
  /** Data-parallel worker threads, each on one onnxruntime thread (`dnc train --data-parallel`). */
  dataParallel: positiveInteger.optional(),
  sequenceLength: positiveInteger.optional(),
  checkpointEvery: positiveInteger.optional(),
  evalEvery: positiveInteger.optional(),
  seed: z.number().int().nonnegative().optional(),
  /** The vocabulary size asked of the BPE tokenizer trainer (default: the preset's). */
  vocabSize: z.number().int().min(263).optional(),
  /** Examples longer than the sequence length: `skip` (default) or `truncate`. */
  longExamples: z.enum(['skip', 'truncate']).optional(),
  /** Prompt style to train in: `compact` (no system message; best for small students) or `instruct`. */
  promptFormat: promptStyleSchema.optional(),
  /** Renamed copies of each training example, its names replaced by made-up ones (default 0). */
  nameCopies: z.number().int().nonnegative().optional(),
  /** Validations without improvement before early stopping (the best validation step is exported). */
  patience: positiveInteger.optional(),
  /** The least validation-loss drop that counts as an improvement. */
  minDelta: z.number().nonnegative().optional(),
  /** Train even below the data floor (50 examples and a validation set); the filter stage checks it too. */
  allowSmallData: z.boolean().optional(),
  /** The same loss curve bit for bit on one machine (onnxruntime on one thread; `dnc train --deterministic`). */
  deterministic: z.boolean().optional(),
  /**
   * The decoding recipe written into the exported brick.json (src/decoding), e.g.
   * `{ "recipe": { "id": "copy-names", "version": 7 } }` with optional overrides; absent: plain decoding.
   */
  decoding: brickDecodingSchema.optional(),
});
export type PipelineStudent = z.infer<typeof studentSchema>;

/** The training overrides of a student (everything but its identity). */
export type StudentOverrides = Omit<
  PipelineStudent,
  | 'name'
  | 'role'
  | 'preset'
  | 'backend'
  | 'base'
  | 'suffix'
  | 'maxUsd'
  | 'pollIntervalMs'
  | 'chatTemplate'
  | 'lora'
>;

/** The keys an `openai` student may have (the service trains; local training settings mean nothing there). */
const remoteStudentKeys = new Set([
  'name',
  'role',
  'backend',
  'base',
  'epochs',
  'seed',
  'suffix',
  'maxUsd',
  'pollIntervalMs',
]);

function checkStudentBackend(student: PipelineStudent, index: number, context: z.RefinementCtx): void {
  const path = ['students', index];
  if (student.backend !== 'openai') {
    if ((student.preset === undefined) === (student.base === undefined))
      context.addIssue({
        code: 'custom',
        path,
        message: `student "${student.name}" needs a \`preset\` (trained from scratch) or a \`base\` (a Hugging Face model directory to fine-tune), not both`,
      });
    for (const key of ['lora', 'chatTemplate'] as const)
      if (student[key] !== undefined && student.base === undefined)
        context.addIssue({
          code: 'custom',
          path: [...path, key],
          message: `\`${key}\` needs a \`base\`: the pretrained model directory it applies to`,
        });
    return;
  }
  if (student.base === undefined)
    context.addIssue({
      code: 'custom',
      path,
      message: `student "${student.name}" (backend openai) needs \`base\`: the remote model to fine-tune`,
    });
  for (const key of Object.keys(student).filter((name) => !remoteStudentKeys.has(name)))
    context.addIssue({
      code: 'custom',
      path: [...path, key],
      message: `\`${key}\` is a setting of dnc's own trainer; an openai student takes ${[...remoteStudentKeys].join(', ')}`,
    });
}

/** An inline eval suite; file datasets may name a published `format` converted by the data stage. */
export const inlineSuiteSchema = z.strictObject({
  name: z.string().min(1).optional(),
  datasets: z.array(datasetSchema).min(1, 'the eval suite needs at least one dataset'),
  chains: z.array(chainSchema).min(1, 'the eval suite needs at least one chain'),
  limit: positiveInteger.optional(),
  concurrency: positiveInteger.optional(),
  prices: z.record(z.string().min(1), priceSchema).optional(),
});
export type InlineSuite = z.infer<typeof inlineSuiteSchema>;

export const pipelineSchema = z
  .strictObject({
    name: nameSchema('a pipeline'),
    description: z.string().optional(),
    /** Examples to collect decompositions for (and to train on). */
    datasets: z.array(datasetSchema).min(1, 'a pipeline needs at least one training dataset'),
    teacher: z.string().min(1, '`teacher` is reference, gold, replay:FILE or openai:MODEL'),
    collect: collectSettingsSchema.optional(),
    students: z.array(studentSchema),
    export: z
      .strictObject({
        /** The students to export (default: every student). */
        students: z.array(z.string().min(1)).optional(),
        /** Quantized onnx/model.onnx (`dnc export --quantize`); model.safetensors stays float32. */
        quantize: z.enum(['int8', 'int4'], { error: "export.quantize must be 'int8' or 'int4'" }).optional(),
      })
      .optional(),
    /** A suite file (`eval/NAME.json`) or an inline suite; omit to stop after export. */
    eval: z.union([z.string().min(1), inlineSuiteSchema]).optional(),
  })
  .superRefine((pipeline, context) => {
    const duplicates = (names: string[]) => [
      ...new Set(names.filter((name, index) => names.indexOf(name) !== index)),
    ];
    for (const name of duplicates(pipeline.datasets.map((dataset) => dataset.name)))
      context.addIssue({ code: 'custom', path: ['datasets'], message: `two datasets are named "${name}"` });
    const students = pipeline.students.map((student) => student.name);
    for (const name of duplicates(students))
      context.addIssue({ code: 'custom', path: ['students'], message: `two students are named "${name}"` });
    pipeline.students.forEach((student, index) => checkStudentBackend(student, index, context));
    pipeline.export?.students?.forEach((name, index) => {
      if (!students.includes(name))
        context.addIssue({
          code: 'custom',
          path: ['export', 'students', index],
          message: `"${name}" is not a student of this pipeline (students: ${students.join(', ') || 'none'})`,
        });
    });
  });

export type Pipeline = z.infer<typeof pipelineSchema>;
