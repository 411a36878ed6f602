/**
 * Turns a trained student into a brick directory in the Hugging Face ONNX layout (see
 * brick-files in hugging-face-files.ts): the KV-cache decoder graph, the HF configs, the tokenizer
 * files, the weights and `brick.json`. A student of a pretrained base is exported merged: its
 * config.json is the base's (model_type and every field), model.safetensors holds every tensor
 * under its Hugging Face name, and the tokenizer is the base's own. The directory is written beside its destination and renamed
 * into place, so a reader never sees half a brick.
 */
import { chmod, copyFile, mkdir, mkdtemp, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { serializeGraph, serializeGraphWithExternalData } from '../engine/serialize.js';
import { countParameters, type StudentArchitecture } from '../student/config.js';
import { studentWeightShapes } from '../student/initialize.js';
import { buildLlamaDecoderGraph } from '../student/llama-graph.js';
import { encodeSafetensors } from '../student/safetensors.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { tokenizerConfigFileName, tokenizerFileName } from '../tokenizer/tokenizer-files.js';
import {
  readPretrainedTokenizerFiles,
  writePretrainedTokenizerFiles,
} from '../tokenizer/pretrained-tokenizer-files.js';
import {
  brickManifestSchema,
  currentPromptFormat,
  lineagePromptStyle,
  type BrickDecoding,
  type BrickManifest,
  type BrickRole,
  type Lineage,
} from '../bricks/brick-manifest.js';
import { normalizedDecoding } from '../decoding/registry.js';
import { brickFiles, buildGenerationConfig, buildModelConfig } from './hugging-face-files.js';
import { quantizeOnnxModel, type QuantizeMode } from './quantize-onnx.js';

export interface ExportBrickInput {
  architecture: StudentArchitecture;
  /** Every tensor under its Hugging Face name. */
  weights: ReadonlyMap<string, Float32Array>;
  /** Directory holding tokenizer.json and tokenizer_config.json. */
  tokenizerDirectory: string;
  role: BrickRole;
  lineage: Lineage;
  metrics: Record<string, number | null>;
  outDirectory: string;
  /** Decoding settings for brick.json naming a recipe (src/decoding); absent: plain decoding. */
  decoding?: BrickDecoding;
  /** Terms found in many training answers: with the copy constraint they become its `knownTerms`. */
  answerTerms?: readonly string[];
  answerAssociations?: Readonly<Record<string, string[]>>;
  /**
   * Weights of more bytes than this go to `onnx/model.onnx_data` (ONNX external data) instead of
   * into model.onnx, whose protobuf cannot exceed 2 GB (Qwen2.5-0.5B and Llama-3.2-1B in float32
   * do). Default 1 GiB.
   */
  externalDataAbove?: number;
  /**
   * Writes onnx/model.onnx with quantized projections and head (src/export/quantize-onnx.ts);
   * model.safetensors keeps the float32 weights. Recorded in brick.json's `quantization`.
   */
  quantize?: QuantizeMode;
}

export interface ExportBrickResult {
  outDirectory: string;
  manifest: BrickManifest;
  /** Bytes of onnx/model.onnx (and onnx/model.onnx_data, when the weights go there). */
  modelBytes: number;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

async function checkTokenizer(directory: string, architecture: StudentArchitecture): Promise<Tokenizer> {
  const tokenizer = await Tokenizer.load(directory);
  if (tokenizer.vocabSize > architecture.vocabSize)
    throw new Error(
      `the tokenizer in ${directory} has ${tokenizer.vocabSize} tokens but the model's vocabSize is ` +
        `${architecture.vocabSize}; train the student with a vocabSize of at least ${tokenizer.vocabSize}`,
    );
  return tokenizer;
}

/**
 * The brick's tokenizer files: dnc's are copied; a pretrained base's are written with its chat
 * template inline in tokenizer_config.json (wherever the base kept it, or `--chat-template`), so
 * every runtime finds it in the one place all of them read.
 */
async function writeTokenizer(directory: string, tokenizer: Tokenizer, staged: string): Promise<void> {
  if (tokenizer.kind === 'pretrained') {
    await writePretrainedTokenizerFiles(staged, await readPretrainedTokenizerFiles(directory));
    return;
  }
  await copyFile(join(directory, tokenizerFileName), join(staged, brickFiles.tokenizer));
  await copyFile(join(directory, tokenizerConfigFileName), join(staged, brickFiles.tokenizerConfig));
}

/** The external data file beside onnx/model.onnx (the name transformers.js and Optimum use). */
const externalDataFileName = 'model.onnx_data';

/** Writes byte chunks one after another into a new file. */
async function writeChunks(file: string, chunks: readonly Uint8Array[]): Promise<void> {
  const handle = await open(file, 'w');
  try {
    for (const chunk of chunks) await handle.write(chunk);
  } finally {
    await handle.close();
  }
}

/** Replaces `target` with `staged` (a directory) by renames only. */
async function moveIntoPlace(staged: string, target: string): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (existing === undefined) {
    await rename(staged, target);
    return;
  }
  if (!existing.isDirectory())
    throw new Error(`${target} exists and is not a directory; choose another --out`);
  const retired = `${target}.old-${process.pid}-${Date.now()}`;
  await rename(target, retired);
  await rename(staged, target);
  await rm(retired, { recursive: true, force: true });
}

export async function exportBrick(input: ExportBrickInput): Promise<ExportBrickResult> {
  const { architecture, weights, role, lineage, metrics } = input;
  // Decoding recipes are off unless the caller turns one on (src/decoding); a pretrained base's
  // tokenizer is refused by the copy-names recipe when the brick loads.
  const pretrained = architecture.huggingFaceConfig !== undefined;
  const decoding = normalizedDecoding(input.decoding, {
    answerTerms: input.answerTerms === undefined ? undefined : [...input.answerTerms],
    answerAssociations: input.answerAssociations === undefined ? undefined : { ...input.answerAssociations },
  });
  const outDirectory = resolve(input.outDirectory);
  const tokenizer = await checkTokenizer(input.tokenizerDirectory, architecture);
  let manifest = brickManifestSchema.parse({
    specificationVersion: 'v1',
    role,
    kind: 'onnx',
    promptFormat: currentPromptFormat(lineagePromptStyle(lineage), pretrained ? 'base-template' : 'dnc-chat'),
    parameters: countParameters(architecture),
    lineage,
    metrics,
    ...(decoding === undefined ? {} : { decoding }),
  });
  const weightBytes = [...weights.values()].reduce((sum, data) => sum + data.byteLength, 0);
  const external = weightBytes > (input.externalDataAbove ?? 1 << 30);
  const graph = buildLlamaDecoderGraph(architecture, weights);
  const serialized = external
    ? serializeGraphWithExternalData(graph, `dnc ${role} student`, { location: externalDataFileName })
    : { model: serializeGraph(graph, `dnc ${role} student`), data: undefined };
  const data = serialized.data;
  let model = serialized.model;
  if (input.quantize !== undefined) {
    if (data !== undefined)
      throw new Error(
        `--quantize needs the float32 weights inside model.onnx (under ${input.externalDataAbove ?? 1 << 30} bytes); this model's go to external data`,
      );
    const quantized = quantizeOnnxModel(model, { mode: input.quantize });
    model = quantized.model;
    manifest = brickManifestSchema.parse({ ...manifest, quantization: quantized.record });
  }
  const tensors = new Map(
    [...studentWeightShapes(architecture)].map(([name, shape]) => [
      name,
      { shape, data: weights.get(name)! },
    ]),
  );
  await mkdir(dirname(outDirectory), { recursive: true });
  const staged = await mkdtemp(join(dirname(outDirectory), `.${basename(outDirectory)}.staging-`));
  try {
    await chmod(staged, 0o755);
    await mkdir(join(staged, 'onnx'));
    await writeFile(join(staged, brickFiles.model), model);
    if (data !== undefined) await writeChunks(join(staged, 'onnx', externalDataFileName), data.chunks);
    await writeFile(join(staged, brickFiles.weights), encodeSafetensors(tensors, { format: 'pt' }));
    await writeFile(
      join(staged, brickFiles.config),
      json(buildModelConfig(architecture, tokenizer, external)),
    );
    await writeFile(
      join(staged, brickFiles.generationConfig),
      json(buildGenerationConfig(tokenizer, metrics.longestAnswerTokens, architecture)),
    );
    await writeTokenizer(input.tokenizerDirectory, tokenizer, staged);
    await writeFile(join(staged, brickFiles.manifest), json(manifest));
    await moveIntoPlace(staged, outDirectory);
  } catch (error) {
    await rm(staged, { recursive: true, force: true });
    throw error;
  }
  return { outDirectory, manifest, modelBytes: model.byteLength + (data?.bytes ?? 0) };
}
