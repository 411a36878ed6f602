/**
 * Decoding benchmark. Two random-weight bricks (speed does not depend on the weights):
 *
 * - the `tiny` preset: greedy decoding with dnc's runtime at batch 1 and batch 8 (total tokens/s),
 *   @huggingface/transformers' `generate` at batch 1 on the same float32 onnx/model.onnx, and the
 *   int8/int4 model files (src/export/quantize-onnx.ts) at batch 1, and dnc on the same float32 file
 *   with its full outputs (every position's logits and the whole cache fetched each step, what
 *   src/runtime/onnx/new-position-outputs.ts avoids) at batch 1 and 8; and `prefixCache`: served-size
 *   decompose prompts (instruct style) with a full prefill against a cached prompt prefix;
 * - SmolLM2-135M's shape (bench/decode-models.ts): float32, int8 (the default kernel,
 *   DynamicQuantizeMatMul, and MatMulNBits with 8 bits) and int4 at batch 1, and float32 and int8
 *   at batch 8.
 *
 * Every run produces exactly `newTokens` tokens (end tokens are suppressed until then on both
 * sides) after one untimed warm-up; the bodies of one table run interleaved, so that load from other
 * processes hits them alike, and every speed is also given as a ratio within the run. `matmulPeak`
 * is the GFLOP/s of one large float32 MatMul in onnxruntime on this machine, for context.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { renderDecomposePrompt } from '../src/prompts/index.js';
import { generate } from '../src/runtime/generation/generate.js';
import { commonPrefix, PrefixCache } from '../src/runtime/generation/prefix-cache.js';
import { OnnxDecoderModel } from '../src/runtime/onnx/onnx-decoder.js';
import { loadPreset, type StudentArchitecture } from '../src/student/config.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { generateExamples } from '../src/worlds/index.js';
import { makeBrick, makeTokenizer, matmulPeak, smolLm2Architecture } from './decode-models.js';

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number): number => Math.round(value * 10) / 10;
const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

type Timed = () => Promise<void>;

/**
 * Medians of the seconds each body takes. The bodies run interleaved, round after round (after one
 * warm-up round), so that load from other processes on a shared machine hits them alike.
 */
async function timeInterleaved(runs: number, bodies: Timed[]): Promise<number[]> {
  for (const body of bodies) await body();
  const seconds = bodies.map((): number[] => []);
  for (let run = 0; run < runs; run += 1) {
    for (const [index, body] of bodies.entries()) {
      const started = performance.now();
      await body();
      seconds[index].push((performance.now() - started) / 1000);
    }
  }
  return seconds.map(median);
}

interface Shape {
  directory: string;
  prompts: number[][];
  quantizeSeconds: Record<string, number>;
  models: Record<'fp32' | 'fp32FullOutputs' | 'int8' | 'int8MatMulNBits' | 'int4', OnnxDecoderModel>;
}

async function makeShape(root: string, name: string, architecture: StudentArchitecture): Promise<Shape> {
  const tokenizerDirectory = join(root, `${name}-tokenizer`);
  const { prompts } = await makeTokenizer(tokenizerDirectory, Math.min(architecture.vocabSize, 2048));
  const directory = join(root, `${name}-brick`);
  const quantizeSeconds = await makeBrick(directory, architecture, tokenizerDirectory);
  const load = (modelFile: string, newPositionOutputs = true) =>
    OnnxDecoderModel.load(directory, { modelFile, newPositionOutputs });
  return {
    directory,
    prompts: prompts(await Tokenizer.load(directory)),
    quantizeSeconds,
    models: {
      fp32: await load('onnx/model.onnx'),
      fp32FullOutputs: await load('onnx/model.onnx', false),
      int8: await load('onnx/model-int8.onnx'),
      int8MatMulNBits: await load('onnx/model-int8-nbits.onnx'),
      int4: await load('onnx/model-int4.onnx'),
    },
  };
}

async function closeShape(shape: Shape): Promise<void> {
  for (const model of Object.values(shape.models)) await model.close();
}

/** tiny: dnc batch 1 / batch 8 / transformers.js batch 1 on the float32 file, int8 and int4 at batch 1. */
async function tinyTable(shape: Shape, newTokens: number, runs: number): Promise<Record<string, unknown>> {
  const settings = { maxNewTokens: newTokens, minNewTokens: newTokens };
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dirname(shape.directory);
  const theirs = await AutoModelForCausalLM.from_pretrained(basename(shape.directory), {
    dtype: 'fp32',
    local_files_only: true,
  });
  const ids = shape.prompts[0];
  const inputIds = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  const attentionMask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
  const { fp32, fp32FullOutputs, int8, int4 } = shape.models;
  const [batch1, transformersJs, batch8, int8Batch1, int4Batch1, fullBatch1, fullBatch8] =
    await timeInterleaved(runs, [
      async () => void (await generate(fp32, [ids], settings)),
      async () => {
        const output = (await theirs.generate({
          input_ids: inputIds,
          attention_mask: attentionMask,
          max_new_tokens: newTokens,
          min_new_tokens: newTokens,
          do_sample: false,
        })) as Tensor;
        if (output.dims[1] !== ids.length + newTokens)
          throw new Error(`transformers.js generated ${output.dims[1] - ids.length} tokens`);
      },
      async () => void (await generate(fp32, shape.prompts, settings)),
      async () => void (await generate(int8, [ids], settings)),
      async () => void (await generate(int4, [ids], settings)),
      async () => void (await generate(fp32FullOutputs, [ids], settings)),
      async () => void (await generate(fp32FullOutputs, shape.prompts, settings)),
    ]);
  await theirs.dispose();
  const perSecond = (seconds: number, rows = 1) => (rows * newTokens) / seconds;
  return {
    promptTokens: ids.length,
    batch1TokensPerSecond: round(perSecond(batch1)),
    batch8TokensPerSecond: round(perSecond(batch8, shape.prompts.length)),
    transformersJsTokensPerSecond: round(perSecond(transformersJs)),
    int8Batch1TokensPerSecond: round(perSecond(int8Batch1)),
    int4Batch1TokensPerSecond: round(perSecond(int4Batch1)),
    ratio: ratio(transformersJs, batch1),
    batch8OverBatch1: ratio(batch1 * shape.prompts.length, batch8),
    int8OverFp32: ratio(batch1, int8Batch1),
    int4OverFp32: ratio(batch1, int4Batch1),
    // The same file fetching every position's logits and the whole present.* cache each step
    // (src/runtime/onnx/new-position-outputs.ts off).
    fullOutputsBatch1TokensPerSecond: round(perSecond(fullBatch1)),
    fullOutputsBatch8TokensPerSecond: round(perSecond(fullBatch8, shape.prompts.length)),
    newPositionsOverFullOutputsBatch1: ratio(fullBatch1, batch1),
    newPositionsOverFullOutputsBatch8: ratio(fullBatch8, batch8),
  };
}

/**
 * Prefix caching at the tiny shape: decompose prompts in the `instruct` style (a ~200-token system
 * prompt and template before each question, as a served decomposer sees), `newTokens` greedy tokens
 * each, with a full prefill and after the cached prefix (src/runtime/generation/prefix-cache.ts), at
 * batch 1 and batch 8 (8 questions).
 */
async function prefixTable(shape: Shape, newTokens: number, runs: number): Promise<Record<string, unknown>> {
  const tokenizer = await Tokenizer.load(shape.directory);
  const questions = generateExamples({ world: 'hops', n: 8, seed: 5, split: 'test' }).map(
    (example) => example.question,
  );
  const prompts = questions.map((question) =>
    tokenizer.encode(
      tokenizer.applyChatTemplate(renderDecomposePrompt({ question, maxSubquestions: 4 }, 'instruct'), {
        addGenerationPrompt: true,
      }),
      { addSpecialTokens: false },
    ),
  );
  const { fp32 } = shape.models;
  const prefix = await new PrefixCache(fp32).prefix(commonPrefix(prompts));
  const settings = { maxNewTokens: newTokens, minNewTokens: newTokens };
  const [full1, cached1, full8, cached8] = await timeInterleaved(runs, [
    async () => void (await generate(fp32, [prompts[0]!], settings)),
    async () => void (await generate(fp32, [prompts[0]!], { ...settings, prefix })),
    async () => void (await generate(fp32, prompts, settings)),
    async () => void (await generate(fp32, prompts, { ...settings, prefix })),
  ]);
  const perSecond = (seconds: number, rows = 1) => round((rows * newTokens) / seconds);
  return {
    promptTokens: prompts[0]!.length,
    prefixTokens: prefix?.tokens.length ?? 0,
    newTokens,
    fullBatch1TokensPerSecond: perSecond(full1),
    prefixBatch1TokensPerSecond: perSecond(cached1),
    fullBatch8TokensPerSecond: perSecond(full8, prompts.length),
    prefixBatch8TokensPerSecond: perSecond(cached8, prompts.length),
    prefixOverFullBatch1: ratio(full1, cached1),
    prefixOverFullBatch8: ratio(full8, cached8),
    batch8OverBatch1Full: ratio(full1 * prompts.length, full8),
    batch8OverBatch1Prefix: ratio(cached1 * prompts.length, cached8),
  };
}

/** SmolLM2-135M's shape: float32 against the quantized files at batch 1, float32 and int8 at batch 8. */
async function smolTable(shape: Shape, newTokens: number, runs: number): Promise<Record<string, unknown>> {
  const settings = { maxNewTokens: newTokens, minNewTokens: newTokens };
  const ids = shape.prompts[0];
  const { fp32, int8, int8MatMulNBits, int4 } = shape.models;
  const [fp32Batch1, int8Batch1, int8MatMulNBitsBatch1, int4Batch1, fp32Batch8, int8Batch8] =
    await timeInterleaved(runs, [
      async () => void (await generate(fp32, [ids], settings)),
      async () => void (await generate(int8, [ids], settings)),
      async () => void (await generate(int8MatMulNBits, [ids], settings)),
      async () => void (await generate(int4, [ids], settings)),
      async () => void (await generate(fp32, shape.prompts, settings)),
      async () => void (await generate(int8, shape.prompts, settings)),
    ]);
  const perSecond = (seconds: number, rows = 1) => round((rows * newTokens) / seconds);
  const rows = shape.prompts.length;
  return {
    promptTokens: ids.length,
    fp32Batch1TokensPerSecond: perSecond(fp32Batch1),
    int8Batch1TokensPerSecond: perSecond(int8Batch1),
    int8MatMulNBitsBatch1TokensPerSecond: perSecond(int8MatMulNBitsBatch1),
    int4Batch1TokensPerSecond: perSecond(int4Batch1),
    fp32Batch8TokensPerSecond: perSecond(fp32Batch8, rows),
    int8Batch8TokensPerSecond: perSecond(int8Batch8, rows),
    int8OverFp32: ratio(fp32Batch1, int8Batch1),
    int8MatMulNBitsOverFp32: ratio(fp32Batch1, int8MatMulNBitsBatch1),
    int4OverFp32: ratio(fp32Batch1, int4Batch1),
    batch8OverBatch1: ratio(fp32Batch1 * rows, fp32Batch8),
    int8Batch8OverBatch1: ratio(int8Batch1 * rows, int8Batch8),
    quantizeSeconds: shape.quantizeSeconds,
  };
}

export async function run(options: { quick: boolean }): Promise<Record<string, unknown>> {
  const newTokens = options.quick ? 16 : 64;
  const runs = options.quick ? 2 : 5;
  const root = await mkdtemp(join(tmpdir(), 'dnc-bench-decode-'));
  try {
    const tiny = await makeShape(root, 'tiny', (await loadPreset('tiny')).architecture);
    const tinyResult = await tinyTable(tiny, newTokens, runs);
    const prefixResult = await prefixTable(tiny, 16, runs);
    await closeShape(tiny);
    const smol = await makeShape(root, 'smollm2-135m', smolLm2Architecture);
    const smolResult = await smolTable(smol, options.quick ? 8 : 32, options.quick ? 1 : 3);
    await closeShape(smol);
    return {
      preset: 'tiny',
      newTokens,
      runs,
      ...tinyResult,
      prefixCache: prefixResult,
      smolLm2Shape: smolResult,
      matmulPeakGflops: await matmulPeak(1024, 5),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      note: 'medians of interleaved timed runs after a warm-up; compare ratios, not absolute speeds: the machine may be shared',
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
