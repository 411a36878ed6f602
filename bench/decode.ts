/**
 * Decoding benchmark. Two random-weight bricks (speed does not depend on the weights):
 *
 * - the `tiny` preset: greedy decoding with dnc's runtime at batch 1 and batch 8 (total tokens/s),
 *   @huggingface/transformers' `generate` at batch 1 on the same float32 onnx/model.onnx, and the
 *   int8/int4 model files (src/export/quantize-onnx.ts) at batch 1, and dnc on the same float32 file
 *   at batch 1 and 8 without its cache's room (src/runtime/onnx/kv-cache.ts) and with its full
 *   outputs (every position's logits and the whole cache fetched each step, what
 *   src/runtime/onnx/new-position-outputs.ts avoids); and `prefixCache`: served-size decompose
 *   prompts (instruct style) with a full prefill against a cached prompt prefix;
 * - SmolLM2-135M's shape (bench/decode-models.ts): float32, int8 (the default kernel,
 *   DynamicQuantizeMatMul, and MatMulNBits with 8 bits) and int4 at batch 1, and float32 and int8
 *   at batch 8.
 *
 * `batch8OverBatch1` divides end-to-end tokens/s, prefill included (a batch of 8 prefills 8
 * prompts); `batch8OverBatch1Decoding` divides the decoding steps' tokens/s alone (see decodingRate).
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

/** Idle time before each timed body: see timeInterleaved. */
const settleMs = 30;

/**
 * Medians of the seconds each body takes. The bodies run interleaved, round after round (after one
 * warm-up round), so that load from other processes on a shared machine hits them alike. Each body
 * starts after a short idle pause: every onnxruntime session has its own thread pool, whose threads
 * spin for a while after a run, and without the pause they take CPU from the next body (another
 * session).
 */
async function timeInterleaved(runs: number, bodies: Timed[]): Promise<number[]> {
  for (const body of bodies) await body();
  const seconds = bodies.map((): number[] => []);
  for (let run = 0; run < runs; run += 1) {
    for (const [index, body] of bodies.entries()) {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
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
  models: Record<
    'fp32' | 'fp32NoRoom' | 'fp32FullOutputs' | 'int8' | 'int8MatMulNBits' | 'int4',
    OnnxDecoderModel
  >;
}

async function makeShape(root: string, name: string, architecture: StudentArchitecture): Promise<Shape> {
  const tokenizerDirectory = join(root, `${name}-tokenizer`);
  const { prompts } = await makeTokenizer(tokenizerDirectory, Math.min(architecture.vocabSize, 2048));
  const directory = join(root, `${name}-brick`);
  const quantizeSeconds = await makeBrick(directory, architecture, tokenizerDirectory);
  const load = (modelFile: string, newPositionOutputs = true, cacheRoom = true) =>
    OnnxDecoderModel.load(directory, { modelFile, newPositionOutputs, cacheRoom });
  return {
    directory,
    prompts: prompts(await Tokenizer.load(directory)),
    quantizeSeconds,
    models: {
      fp32: await load('onnx/model.onnx'),
      fp32NoRoom: await load('onnx/model.onnx', true, false),
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

/** `timeInterleaved` over named bodies: name → median seconds. */
async function timeNamed<Name extends string>(
  runs: number,
  bodies: Record<Name, Timed>,
): Promise<Record<Name, number>> {
  const names = Object.keys(bodies) as Name[];
  const seconds = await timeInterleaved(
    runs,
    names.map((name) => bodies[name]),
  );
  return Object.fromEntries(names.map((name, index) => [name, seconds[index]!])) as Record<Name, number>;
}

/**
 * Tokens/s of the decoding steps alone, every row: the steps after the first token, timed as a
 * generation of `newTokens` minus a generation of 1 (the prefill and its token). A batch of 8
 * prefills 8 prompts, so end-to-end tokens/s also weigh prefill against decoding.
 */
function decodingRate(seconds: number, firstTokenSeconds: number, newTokens: number, rows: number): number {
  return (rows * (newTokens - 1)) / (seconds - firstTokenSeconds);
}

/**
 * tiny: dnc at batch 1 and 8 (and with one token, for the decoding steps alone), transformers.js at
 * batch 1 on the same float32 file, int8 and int4 at batch 1, and dnc without its cache's room and
 * with full outputs.
 */
async function tinyTable(shape: Shape, newTokens: number, runs: number): Promise<Record<string, unknown>> {
  const settings = { maxNewTokens: newTokens, minNewTokens: newTokens };
  const first = { maxNewTokens: 1, minNewTokens: 1 };
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
  const { fp32, fp32NoRoom, fp32FullOutputs, int8, int4 } = shape.models;
  const all = shape.prompts;
  const seconds = await timeNamed(runs, {
    batch1: async () => void (await generate(fp32, [ids], settings)),
    transformersJs: async () => {
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
    batch8: async () => void (await generate(fp32, all, settings)),
    firstToken1: async () => void (await generate(fp32, [ids], first)),
    firstToken8: async () => void (await generate(fp32, all, first)),
    int8Batch1: async () => void (await generate(int8, [ids], settings)),
    int4Batch1: async () => void (await generate(int4, [ids], settings)),
    noRoom1: async () => void (await generate(fp32NoRoom, [ids], settings)),
    noRoom8: async () => void (await generate(fp32NoRoom, all, settings)),
    full1: async () => void (await generate(fp32FullOutputs, [ids], settings)),
    full8: async () => void (await generate(fp32FullOutputs, all, settings)),
  });
  await theirs.dispose();
  const perSecond = (time: number, rows = 1) => (rows * newTokens) / time;
  const rows = all.length;
  const decoding1 = decodingRate(seconds.batch1, seconds.firstToken1, newTokens, 1);
  const decoding8 = decodingRate(seconds.batch8, seconds.firstToken8, newTokens, rows);
  return {
    promptTokens: ids.length,
    batch1TokensPerSecond: round(perSecond(seconds.batch1)),
    batch8TokensPerSecond: round(perSecond(seconds.batch8, rows)),
    transformersJsTokensPerSecond: round(perSecond(seconds.transformersJs)),
    int8Batch1TokensPerSecond: round(perSecond(seconds.int8Batch1)),
    int4Batch1TokensPerSecond: round(perSecond(seconds.int4Batch1)),
    ratio: ratio(seconds.transformersJs, seconds.batch1),
    batch8OverBatch1: ratio(seconds.batch1 * rows, seconds.batch8),
    decodingBatch1TokensPerSecond: round(decoding1),
    decodingBatch8TokensPerSecond: round(decoding8),
    batch8OverBatch1Decoding: ratio(decoding8, decoding1),
    int8OverFp32: ratio(seconds.batch1, seconds.int8Batch1),
    int4OverFp32: ratio(seconds.batch1, seconds.int4Batch1),
    // The same file with a cache re-laid out one position longer every step (kv-cache.ts's room off).
    noRoomBatch1TokensPerSecond: round(perSecond(seconds.noRoom1)),
    noRoomBatch8TokensPerSecond: round(perSecond(seconds.noRoom8, rows)),
    roomOverNoRoomBatch1: ratio(seconds.noRoom1, seconds.batch1),
    roomOverNoRoomBatch8: ratio(seconds.noRoom8, seconds.batch8),
    // The same file fetching every position's logits and the whole present.* cache each step
    // (src/runtime/onnx/new-position-outputs.ts off).
    fullOutputsBatch1TokensPerSecond: round(perSecond(seconds.full1)),
    fullOutputsBatch8TokensPerSecond: round(perSecond(seconds.full8, rows)),
    newPositionsOverFullOutputsBatch1: ratio(seconds.full1, seconds.batch1),
    newPositionsOverFullOutputsBatch8: ratio(seconds.full8, seconds.batch8),
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
  const first = { maxNewTokens: 1, minNewTokens: 1 };
  const all = shape.prompts;
  const seconds = await timeNamed(runs, {
    fp32Batch1: async () => void (await generate(fp32, [ids], settings)),
    int8Batch1: async () => void (await generate(int8, [ids], settings)),
    int8MatMulNBitsBatch1: async () => void (await generate(int8MatMulNBits, [ids], settings)),
    int4Batch1: async () => void (await generate(int4, [ids], settings)),
    fp32Batch8: async () => void (await generate(fp32, all, settings)),
    int8Batch8: async () => void (await generate(int8, all, settings)),
    firstToken1: async () => void (await generate(fp32, [ids], first)),
    firstToken8: async () => void (await generate(fp32, all, first)),
  });
  const { fp32Batch1, int8Batch1, int8MatMulNBitsBatch1, int4Batch1, fp32Batch8, int8Batch8 } = seconds;
  const perSecond = (seconds: number, rows = 1) => round((rows * newTokens) / seconds);
  const rows = all.length;
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
    batch8OverBatch1Decoding: ratio(
      decodingRate(fp32Batch8, seconds.firstToken8, newTokens, rows),
      decodingRate(fp32Batch1, seconds.firstToken1, newTokens, 1),
    ),
    int8Batch8OverBatch1: ratio(int8Batch1 * rows, int8Batch8),
    quantizeSeconds: shape.quantizeSeconds,
  };
}

export async function run(options: { quick: boolean }): Promise<Record<string, unknown>> {
  const newTokens = options.quick ? 16 : 64;
  const runs = options.quick ? 2 : 7;
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
