/**
 * Training-engine benchmark: the MatMul peak of this machine (a 1024³ float32 MatMul run through the
 * same onnxruntime) and the throughput of full training steps (forward + backward + AdamW, one graph)
 * of the one-block transformer at realistic sizes, with MFU = achieved ÷ peak. Each configuration is
 * measured over several steps and the spread is reported, because other processes share the cores.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type * as ort from 'onnxruntime-node';
import { Graph } from '../src/engine/graph.js';
import { optimizerNames } from '../src/engine/optimizer.js';
import { buildStepGraph } from '../src/engine/training-graphs.js';
import {
  type OneBlockTransformerConfig,
  batchInputNames,
  initializeOneBlockTransformer,
  oneBlockTransformer,
  oneBlockTransformerStepFlops,
} from '../src/engine/models/one-block-transformer.js';
import { serializeGraph } from '../src/engine/serialize.js';
import { EngineSession, type EngineSessionOptions, type Feeds, tensor } from '../src/engine/session.js';
import { Trainer } from '../src/engine/trainer.js';
import { countParameters, loadPreset } from '../src/student/config.js';
import { initializeWeights } from '../src/student/initialize.js';
import { batchFeeds, type Document, targetCapacity } from '../src/train/packing.js';
import { studentModel, studentStepFlops } from '../src/train/student-model.js';
import { measurePretrained } from './train-pretrained.js';
import { run as runQuickstartStep } from './train-quickstart.js';

interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    median: round(sorted[Math.floor(sorted.length / 2)]),
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1]),
  };
}

/** A session running one n×n×n float32 MatMul (2n³ FLOPs per run) into a preallocated output. */
async function matmulRunner(size: number, session: EngineSessionOptions): Promise<Runner> {
  const g = new Graph('matmul_peak');
  const a = g.input('a', 'float32', [size, size]); // (n, n)
  const b = g.input('b', 'float32', [size, size]); // (n, n)
  g.output(g.matmul(a, b), 'c'); // (n, n)
  const engine = await EngineSession.create(serializeGraph(g), session, 'matmul peak');
  const values = Float32Array.from(
    { length: size * size },
    (_, index) => ((index * 7919) % 1000) / 1000 - 0.5,
  );
  const feeds = { a: tensor('float32', values, [size, size]), b: tensor('float32', values, [size, size]) };
  const output = { c: tensor('float32', new Float32Array(size * size), [size, size]) };
  return { run: () => engine.run(feeds, output), release: () => engine.release(), flops: 2 * size ** 3 };
}

interface Runner {
  run(): Promise<unknown>;
  release(): Promise<void>;
  flops: number;
}

function randomBatch(config: OneBlockTransformerConfig, seed: number): Feeds {
  const { batch, time, vocabulary } = config;
  let state = seed;
  const next = (): bigint => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return BigInt(state % vocabulary);
  };
  const tokens = BigInt64Array.from({ length: batch * time }, next);
  const targets = BigInt64Array.from({ length: batch * time }, next);
  return {
    [batchInputNames.tokens]: tensor('int64', tokens, [batch, time]),
    [batchInputNames.targets]: tensor('int64', targets, [batch, time]),
    [batchInputNames.mask]: tensor('float32', new Float32Array(batch * time).fill(1), [batch, time]),
  };
}

async function trainerRunner(
  config: OneBlockTransformerConfig,
  session: EngineSessionOptions,
): Promise<Runner> {
  const model = oneBlockTransformer(config);
  const trainer = await Trainer.create({
    model,
    initialParameters: initializeOneBlockTransformer(model, 1),
    optimizer: { maxGradientNorm: 1 },
    session,
  });
  const batch = randomBatch(config, 7);
  return {
    run: () => trainer.step([batch], 1e-3),
    release: () => trainer.release(),
    flops: oneBlockTransformerStepFlops(config),
  };
}

/**
 * Alternates runs of several runners (round-robin) so that each sees the same background load, and
 * returns each one's seconds per run.
 */
async function interleave(runners: readonly Runner[], warmup: number, rounds: number): Promise<number[][]> {
  for (let round = 0; round < warmup; round += 1) for (const runner of runners) await runner.run();
  const seconds = runners.map((): number[] => []);
  for (let round = 0; round < rounds; round += 1) {
    for (const [index, runner] of runners.entries()) {
      const start = process.hrtime.bigint();
      await runner.run();
      seconds[index].push(Number(process.hrtime.bigint() - start) / 1e9);
    }
  }
  return seconds;
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

async function measureSetting(
  config: OneBlockTransformerConfig,
  matmulSize: number,
  session: EngineSessionOptions,
  rounds: number,
): Promise<Record<string, unknown>> {
  const peak = await matmulRunner(matmulSize, session);
  const step = await trainerRunner(config, session);
  const [peakBefore, stepSeconds, peakAfter] = await interleave([peak, step, peak], 2, rounds);
  const peakSeconds = [...peakBefore, ...peakAfter];
  await Promise.all([peak.release(), step.release()]);
  const peakGflops = spread(peakSeconds.map((time) => peak.flops / time / 1e9));
  const stepGflops = spread(stepSeconds.map((time) => step.flops / time / 1e9));
  const tokens = config.batch * config.time;
  return {
    intraOpNumThreads: session.intraOpNumThreads,
    graphOptimizationLevel: session.graphOptimizationLevel,
    matmulPeakGflops: peakGflops,
    stepMs: spread(stepSeconds.map((time) => time * 1000)),
    tokensPerSecond: spread(stepSeconds.map((time) => tokens / time)),
    achievedGflops: stepGflops,
    // Like for like: the median step against the median MatMul, both measured under the same load.
    mfu: round3(stepGflops.median / peakGflops.median),
    // Conservative: the median step against the best MatMul run seen in the same window.
    mfuAgainstBestMatmul: round3(stepGflops.median / peakGflops.max),
  };
}

/** Step time with outputs written into preallocated tensors vs allocated (and copied) by onnxruntime. */
async function outputAllocationCost(
  config: OneBlockTransformerConfig,
  rounds: number,
): Promise<Record<string, unknown>> {
  const model = oneBlockTransformer(config);
  const engine = await EngineSession.create(serializeGraph(buildStepGraph(model, { maxGradientNorm: 1 })), {
    intraOpNumThreads: 2,
  });
  const initial = initializeOneBlockTransformer(model, 1);
  const feeds: Feeds = { ...randomBatch(config, 3) };
  const preallocated: Record<string, ort.Tensor | null> = { loss: null, gradient_norm: null };
  feeds[optimizerNames.learningRate] = tensor('float32', Float32Array.of(1e-3), []);
  feeds[optimizerNames.step] = tensor('float32', Float32Array.of(1), []);
  for (const spec of model.parameters) {
    const values = initial.get(spec.name) as Float32Array;
    for (const name of [
      spec.name,
      optimizerNames.firstMoment(spec.name),
      optimizerNames.secondMoment(spec.name),
    ]) {
      feeds[name] = tensor(
        'float32',
        name === spec.name ? values : new Float32Array(values.length),
        spec.shape,
      );
      preallocated[optimizerNames.next(name)] = tensor(
        'float32',
        new Float32Array(values.length),
        spec.shape,
      );
    }
  }
  const [withPreallocation, withAllocation] = await interleave(
    [
      { run: () => engine.run(feeds, preallocated), release: async () => undefined, flops: 0 },
      { run: () => engine.run(feeds), release: async () => undefined, flops: 0 },
    ],
    1,
    rounds,
  );
  await engine.release();
  return {
    preallocatedStepMs: spread(withPreallocation.map((time) => time * 1000)),
    allocatedStepMs: spread(withAllocation.map((time) => time * 1000)),
  };
}

/** A real student training step (Llama graph, packed rows of two documents each, AdamW) of a preset. */
async function presetRunner(
  presetName: string,
  session: EngineSessionOptions,
): Promise<Runner & { params: number; tokens: number }> {
  const preset = await loadPreset(presetName);
  const { architecture } = preset;
  const rowShape = { rows: preset.training.batchSize, length: preset.training.sequenceLength }; // (B, T)
  const half = rowShape.length / 2;
  const documents: Document[] = Array.from({ length: 2 * rowShape.rows }, (_, index) => ({
    inputIds: Array.from(
      { length: half + 1 },
      (__, position) => (index * 131 + position * 17) % architecture.vocabSize,
    ),
    lossMask: Array.from({ length: half + 1 }, (__, position) => (position > half / 2 ? 1 : 0)),
  }));
  const rows = Array.from({ length: rowShape.rows }, (_, row) => [2 * row, 2 * row + 1]);
  const shape = { ...rowShape, targets: targetCapacity(documents, rows, rowShape) }; // the head at loss positions, as the trainer
  const { feeds } = batchFeeds(documents, rows, shape, 2);
  const trainer = await Trainer.create({
    model: studentModel(architecture, shape),
    initialParameters: initializeWeights(architecture, 1),
    optimizer: { maxGradientNorm: preset.training.gradientClip, weightDecay: preset.training.weightDecay },
    session,
  });
  return {
    run: () => trainer.step([feeds], preset.training.learningRate),
    release: () => trainer.release(),
    flops: studentStepFlops(architecture, shape),
    params: countParameters(architecture),
    tokens: shape.rows * shape.length,
  };
}

/** Each preset's params, tokens/s and MFU against a MatMul peak measured interleaved with its steps. */
async function measurePresets(
  presetNames: readonly string[],
  matmulSize: number,
  rounds: number,
): Promise<Record<string, unknown>[]> {
  const session: EngineSessionOptions = { intraOpNumThreads: 2, graphOptimizationLevel: 'all' };
  const results: Record<string, unknown>[] = [];
  for (const name of presetNames) {
    const peak = await matmulRunner(matmulSize, session);
    const step = await presetRunner(name, session);
    const [peakBefore, stepSeconds, peakAfter] = await interleave([peak, step, peak], 1, rounds);
    await Promise.all([peak.release(), step.release()]);
    const peakGflops = spread([...peakBefore, ...peakAfter].map((time) => peak.flops / time / 1e9));
    const stepGflops = spread(stepSeconds.map((time) => step.flops / time / 1e9));
    results.push({
      preset: name,
      params: step.params,
      tokensPerStep: step.tokens,
      stepGflop: round3(step.flops / 1e9),
      stepMs: spread(stepSeconds.map((time) => time * 1000)),
      tokensPerSecond: spread(stepSeconds.map((time) => step.tokens / time)).median,
      achievedGflops: stepGflops.median,
      matmulPeakGflops: peakGflops.median,
      mfu: round3(stepGflops.median / peakGflops.median),
      mfuAgainstBestMatmul: round3(stepGflops.median / peakGflops.max),
    });
  }
  return results;
}

/**
 * Mixture of experts against dense at equal active parameters (students/moe-*.json: 4 experts of
 * half the dense width, top-2): the two presets' training steps alternate (dense, MoE, dense, ...)
 * so both see the same background load; the ratio is MoE tokens/s over dense tokens/s in this run.
 * The MoE layer computes every expert densely (src/student/moe-layer.ts), i.e. E/k = 2× the active
 * MLP FLOPs; the step FLOPs reported (studentStepFlops) count the active MLP only.
 */
export async function measureMixture(
  pairs: ReadonlyArray<readonly [string, string]>,
  rounds: number,
): Promise<Record<string, unknown>[]> {
  const session: EngineSessionOptions = { intraOpNumThreads: 2, graphOptimizationLevel: 'all' };
  const results: Record<string, unknown>[] = [];
  for (const [denseName, mixtureName] of pairs) {
    const dense = await presetRunner(denseName, session);
    const mixture = await presetRunner(mixtureName, session);
    const [denseSeconds, mixtureSeconds] = await interleave([dense, mixture], 1, rounds);
    await Promise.all([dense.release(), mixture.release()]);
    const denseTokens = spread(denseSeconds.map((time) => dense.tokens / time));
    const mixtureTokens = spread(mixtureSeconds.map((time) => mixture.tokens / time));
    results.push({
      dense: { preset: denseName, params: dense.params, tokensPerSecond: denseTokens },
      mixture: { preset: mixtureName, params: mixture.params, tokensPerSecond: mixtureTokens },
      ratio: round3(mixtureTokens.median / denseTokens.median),
      goal: 0.7,
    });
  }
  return results;
}

/**
 * Tokens of one GSM8K-socratic decomposer example (question in, sub-questions out, chat template
 * around them), estimated from the real records in datasets/gsm8k-socratic at 4 characters a token
 * (English under a 49k BPE vocabulary such as SmolLM2's) plus 24 tokens of template and system turn.
 */
async function gsm8kSocraticTokensPerExample(): Promise<number> {
  const file = fileURLToPath(new URL('../datasets/gsm8k-socratic/fixture-real-test.jsonl', import.meta.url));
  const records = (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { question: string; answer: string });
  const characters = records.map(
    (record) =>
      record.question.length +
      record.answer
        .split('\n')
        .filter((line) => line.includes(' ** '))
        .reduce((sum, line) => sum + line.slice(0, line.indexOf(' ** ')).length + 4, 0),
  );
  return Math.round(characters.reduce((sum, value) => sum + value, 0) / characters.length / 4 + 24);
}

/** Pretrained students at SmolLM2-135M's shape (bench/train-pretrained.ts): full vs LoRA steps. */
/** `steps` overrides the measured steps per mode (default 1 quick, 2 full; a warm-up step comes first). */
export async function pretrainedSection(
  quick: boolean,
  matmulSize: number,
  steps?: number,
): Promise<Record<string, unknown>> {
  // The children's trainers use onnxruntime's default of one thread per core; so does this peak.
  const session: EngineSessionOptions = {
    intraOpNumThreads: availableParallelism(),
    graphOptimizationLevel: 'all',
  };
  const matmulPeak = async (): Promise<number> => {
    const peak = await matmulRunner(matmulSize, session);
    const [seconds] = await interleave([peak], 1, 3);
    await peak.release();
    return spread(seconds.map((time) => peak.flops / time / 1e9)).median;
  };
  const sizes = quick
    ? { rows: 1, length: 64, steps: 1, layers: 2, microBatchRows: 1 }
    : { rows: 4, length: 512, steps: 2, layers: 30, microBatchRows: 2 }; // 2 × 2 rows: ≤ 4 GB
  return measurePretrained({
    ...sizes,
    steps: steps ?? sizes.steps,
    matmulPeak,
    tokensPerExample: await gsm8kSocraticTokensPerExample(),
  });
}

export async function run(options: { quick: boolean }): Promise<Record<string, unknown>> {
  const config: OneBlockTransformerConfig = options.quick
    ? { vocabulary: 512, dimension: 128, heads: 2, hidden: 352, batch: 4, time: 64 }
    : { vocabulary: 4096, dimension: 256, heads: 4, hidden: 704, batch: 8, time: 128 };
  const matmulSize = options.quick ? 512 : 1024;
  const rounds = options.quick ? 3 : 8;
  const settings: EngineSessionOptions[] = options.quick
    ? [{ intraOpNumThreads: 2, graphOptimizationLevel: 'all' }]
    : [
        { intraOpNumThreads: 2, graphOptimizationLevel: 'all' },
        { intraOpNumThreads: 1, graphOptimizationLevel: 'all' },
        { intraOpNumThreads: 2, graphOptimizationLevel: 'basic' },
        { intraOpNumThreads: 2, graphOptimizationLevel: 'disabled' },
      ];
  const variants: Record<string, unknown>[] = [];
  for (const session of settings) variants.push(await measureSetting(config, matmulSize, session, rounds));
  const main = variants[0] as {
    matmulPeakGflops: Spread;
    tokensPerSecond: Spread;
    achievedGflops: Spread;
    mfu: number;
  };
  return {
    benchmark: 'train',
    quick: options.quick,
    model: {
      ...config,
      stepGflop: round3(oneBlockTransformerStepFlops(config) / 1e9),
      tokensPerStep: config.batch * config.time,
    },
    flopCounting:
      '3 × forward matmul FLOPs: 2·(4C² + 3CF + VC) per token + 4·T·C per token for QKᵀ and AV (full T×T)',
    matmulPeakGflops: main.matmulPeakGflops.median,
    matmulBestGflops: main.matmulPeakGflops.max,
    tokensPerSecond: main.tokensPerSecond.median,
    achievedGflops: main.achievedGflops.median,
    mfu: main.mfu,
    variants,
    outputAllocation: options.quick ? undefined : await outputAllocationCost(config, rounds),
    // Real student training steps (src/train/student-model.ts) at each preset's batch × sequence length.
    presets: await measurePresets(
      options.quick ? ['nano'] : ['nano', 'tiny', 'small'],
      matmulSize,
      options.quick ? 2 : Math.max(3, rounds / 2),
    ),
    // MoE students (dense-formulation experts) against the dense preset of equal active parameters.
    mixtureOfExperts: await measureMixture(
      options.quick
        ? [['nano', 'moe-nano']]
        : [
            ['nano', 'moe-nano'],
            ['tiny', 'moe-tiny'],
          ],
      options.quick ? 2 : Math.max(3, rounds / 2),
    ),
    // Full fine-tuning vs LoRA at SmolLM2-135M's shape with random weights (quick: 2 layers, 1 × 64).
    pretrained: await pretrainedSection(options.quick, matmulSize),
    // The quickstart decomposer's step (bench/train-quickstart.ts): tokens/s, MFU, --deterministic's cost.
    quickstart: await runQuickstartStep(options),
    note: 'MatMul and training-step runs alternate (MatMul, step, MatMul, ...) so both see the same background load; spreads are median/min/max over runs; matmulPeakGflops is the median MatMul run and mfu the median step over it (mfuAgainstBestMatmul uses the best MatMul run)',
  };
}
