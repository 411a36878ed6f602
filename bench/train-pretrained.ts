/**
 * The `pretrained` section of `dnc bench train`: training steps of a student at SmolLM2-135M's exact
 * shape (hidden 576, intermediate 1536, 30 layers, 9 heads, 3 kv heads, vocab 49152, tied, rope θ
 * 100000) with RANDOM weights, fully fine-tuned and with LoRA (r 16 on q, v, o, gate, up, down), at
 * the same batch. Each mode runs in a child process of its own so that its peak RSS
 * (`process.resourceUsage().maxRSS`) is its own; the MatMul peak is measured in this process before
 * and after the children, under the same background load.
 *
 * The child is this file run directly: `node --import tsx bench/train-pretrained.ts '{"mode":"lora",
 * "rows":4,"length":512,"steps":1,"layers":30,"vocabSize":49152,"microBatchRows":1}'` (a ChildSpec)
 * prints one JSON line.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Trainer } from '../src/engine/trainer.js';
import { countParameters, type StudentArchitecture } from '../src/student/config.js';
import { initializeWeights } from '../src/student/initialize.js';
import { initializeLora, loraParameterSpecs, type LoraSettings } from '../src/student/lora.js';
import { batchFeeds, type Document, targetCapacity } from '../src/train/packing.js';
import { type BatchShape, studentModel, studentStepFlops } from '../src/train/student-model.js';

/** SmolLM2-135M-Instruct's config.json, as a dnc architecture. */
export const smolLm2Architecture: StudentArchitecture = {
  modelType: 'llama',
  vocabSize: 49152,
  hiddenSize: 576,
  intermediateSize: 1536,
  numHiddenLayers: 30,
  numAttentionHeads: 9,
  numKeyValueHeads: 3,
  maxPositionEmbeddings: 8192,
  ropeTheta: 100000,
  rmsNormEps: 1e-5,
  initializerRange: 0.041666666666666664,
  tieWordEmbeddings: true,
};

export const benchLora: LoraSettings = {
  rank: 16,
  alpha: 32,
  dropout: 0,
  targets: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};

type Mode = 'full' | 'lora';

/** One child's measurement: a mode, its batch, and the memory settings it runs with. */
export interface ChildSpec {
  mode: Mode;
  rows: number;
  length: number;
  steps: number;
  layers: number;
  vocabSize: number;
  /** Rows per micro-batch (gradient accumulation); `rows`: one batch per step. */
  microBatchRows: number;
  /** onnxruntime session memory options (src/engine/session.ts); undefined: onnxruntime's defaults. */
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
}

interface ChildResult {
  spec: ChildSpec;
  stepSeconds: number[];
  setupSeconds: number;
  maxRssBytes: number;
  trainableParameters: number;
  stateArrays: number;
  stateFloats: number;
  frozenFloats: number;
  stepFlops: number;
  tokensPerStep: number;
}

/** Rows of two documents each, half of every document under the loss (as a decomposer's answers). */
function benchBatch(architecture: StudentArchitecture, rows: number, length: number) {
  const half = length / 2;
  const documents: Document[] = Array.from({ length: 2 * rows }, (_, index) => ({
    inputIds: Array.from(
      { length: half + 1 },
      (__, position) => (index * 7919 + position * 104729) % architecture.vocabSize,
    ),
    lossMask: Array.from({ length: half + 1 }, (__, position) => (position > half / 2 ? 1 : 0)),
  }));
  const packed = Array.from({ length: rows }, (_, row) => [2 * row, 2 * row + 1]);
  const shape: BatchShape = { rows, length, targets: targetCapacity(documents, packed, { rows, length }) };
  return { shape, feeds: batchFeeds(documents, packed, shape, 0).feeds };
}

/** One child's steps, in this process (the child side). */
async function measureMode(spec: ChildSpec): Promise<ChildResult> {
  const { mode, rows, length, steps, layers, vocabSize, microBatchRows } = spec;
  const started = performance.now();
  const architecture = { ...smolLm2Architecture, numHiddenLayers: layers, vocabSize };
  if (rows % microBatchRows !== 0) throw new Error(`${microBatchRows} does not divide ${rows} rows`);
  const microBatches = rows / microBatchRows;
  const { shape, feeds } = benchBatch(architecture, microBatchRows, length);
  const batches = Array.from({ length: microBatches }, () => feeds);
  const base = initializeWeights(architecture, 1);
  const lora = mode === 'full' ? undefined : benchLora;
  const trainer = await Trainer.create({
    microBatches,
    model: studentModel(architecture, shape, lora),
    initialParameters: lora === undefined ? base : initializeLora(architecture, lora, 1),
    frozenValues: lora === undefined ? undefined : base,
    optimizer: { maxGradientNorm: 1, weightDecay: 0 },
    session: { enableCpuMemArena: spec.enableCpuMemArena, enableMemPattern: spec.enableMemPattern },
  });
  if (lora === undefined) base.clear(); // the trainer copied them; let the originals go
  const setupSeconds = (performance.now() - started) / 1000;
  await trainer.step(batches, 1e-4); // warm-up: onnxruntime plans its buffers on the first run
  const stepSeconds: number[] = [];
  for (let step = 0; step < steps; step += 1) {
    const start = performance.now();
    await trainer.step(batches, 1e-4);
    stepSeconds.push((performance.now() - start) / 1000);
  }
  const memory = trainer.memory();
  await trainer.release();
  // The LoRA path adds 2·r·(in + out) per token and module (forward); the frozen weights skip dW.
  const fullFlops = studentStepFlops(architecture, shape);
  const stepFlops =
    microBatches * (lora === undefined ? fullFlops : loraStepFlops(architecture, shape, lora, fullFlops));
  return {
    spec,
    stepSeconds,
    setupSeconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    trainableParameters:
      lora === undefined
        ? countParameters(architecture)
        : loraParameterSpecs(architecture, lora).reduce(
            (sum, spec) => sum + spec.shape[0] * spec.shape[1],
            0,
          ),
    stateArrays: memory.stateArrays,
    stateFloats: memory.stateFloats,
    frozenFloats: memory.frozenFloats,
    stepFlops,
    tokensPerStep: rows * length,
  };
}

/**
 * Matrix FLOPs of a LoRA step: the full step less the frozen weights' dW products (a third of each
 * projection's and of the tied head's work), plus forward + both backward products of the thin path.
 */
function loraStepFlops(
  architecture: StudentArchitecture,
  shape: BatchShape,
  lora: LoraSettings,
  fullFlops: number,
): number {
  const { hiddenSize: C, intermediateSize: F, vocabSize: V, numHiddenLayers: L } = architecture;
  const head = C / architecture.numAttentionHeads;
  const kvWidth = architecture.numKeyValueHeads * head;
  const tokens = shape.rows * shape.length;
  const projectionForward =
    tokens * L * 2 * (2 * C * C + 2 * C * kvWidth + 3 * C * F) + (shape.targets ?? tokens) * 2 * V * C;
  const sizes: Record<string, number> = {
    q_proj: 2 * C,
    k_proj: C + kvWidth,
    v_proj: C + kvWidth,
    o_proj: 2 * C,
    gate_proj: C + F,
    up_proj: C + F,
    down_proj: C + F,
  };
  const loraForward = lora.targets.reduce(
    (sum, target) => sum + tokens * L * 2 * lora.rank * sizes[target],
    0,
  );
  return fullFlops - projectionForward + 3 * loraForward;
}

const run = promisify(execFile);

async function child(spec: ChildSpec): Promise<ChildResult> {
  const file = fileURLToPath(import.meta.url);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file, JSON.stringify(spec)], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
}

export interface PretrainedBenchOptions {
  rows: number;
  length: number;
  steps: number;
  layers: number;
  /** Default SmolLM2's 49,152; a test may shrink it to run in seconds. */
  vocabSize?: number;
  /** Rows per micro-batch of the micro-batched LoRA run (default 1). */
  microBatchRows?: number;
  /** Measures the MatMul peak (GFLOP/s) in this process. */
  matmulPeak: () => Promise<number>;
  /** Tokens of one GSM8K-socratic decomposer example (for the 1,000-example estimate). */
  tokensPerExample: number;
}

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** onnxruntime's arena and memory pattern off (see docs/pretrained-students.md for what they cost). */
const lowMemory = { enableCpuMemArena: false, enableMemPattern: false };

function describeChild(result: ChildResult, peak: number) {
  const seconds = median(result.stepSeconds);
  return {
    microBatchRows: result.spec.microBatchRows,
    onnxruntimeMemory:
      result.spec.enableCpuMemArena === false ? 'arena and memory pattern off' : 'onnxruntime defaults',
    trainableParameters: result.trainableParameters,
    stepSeconds: round(seconds),
    stepSecondsAll: result.stepSeconds.map((value) => round(value)),
    setupSeconds: round(result.setupSeconds, 1),
    tokensPerSecond: Math.round(result.tokensPerStep / seconds),
    stepGflop: round(result.stepFlops / 1e9, 1),
    achievedGflops: round(result.stepFlops / seconds / 1e9, 1),
    mfu: round(result.stepFlops / seconds / 1e9 / peak),
    peakRssMb: Math.round(result.maxRssBytes / 2 ** 20),
    stateArrays: result.stateArrays,
    stateMb: Math.round((result.stateFloats * 4) / 2 ** 20),
    frozenMb: Math.round((result.frozenFloats * 4) / 2 ** 20),
  };
}

/**
 * Full and LoRA steps over one batch of `rows` (onnxruntime's default memory settings, the
 * baseline), then LoRA with the arena and memory pattern off, as one batch and as micro-batches of
 * `microBatchRows` rows (what `dnc train --micro-batch-size` runs): each in its own child process.
 */
export async function measurePretrained(options: PretrainedBenchOptions): Promise<Record<string, unknown>> {
  const { rows, length, steps, layers, microBatchRows = 1 } = options;
  const vocabSize = options.vocabSize ?? smolLm2Architecture.vocabSize;
  const batch = { rows, length, steps, layers, vocabSize, microBatchRows: rows };
  const peakBefore = await options.matmulPeak();
  const full = await child({ mode: 'full', ...batch });
  const lora = await child({ mode: 'lora', ...batch });
  const loraLowMemory = await child({ mode: 'lora', ...batch, ...lowMemory });
  const loraMicro = await child({ mode: 'lora', ...batch, microBatchRows, ...lowMemory });
  const peakAfter = await options.matmulPeak();
  const peak = (peakBefore + peakAfter) / 2;
  const fullSummary = describeChild(full, peak);
  const loraSummary = describeChild(lora, peak);
  const loraLowMemorySummary = describeChild(loraLowMemory, peak);
  const loraMicroSummary = describeChild(loraMicro, peak);
  const examples = 1000;
  const examplesPerStep = (rows * length) / options.tokensPerExample;
  const epochSteps = Math.ceil(examples / examplesPerStep);
  return {
    shape: { ...smolLm2Architecture, numHiddenLayers: layers, vocabSize },
    batch: { rows, length },
    loraSettings: benchLora,
    matmulPeakGflops: round(peak, 1),
    full: fullSummary,
    lora: loraSummary,
    // The same LoRA step with onnxruntime's arena and memory pattern off, then as micro-batches.
    loraLowMemory: loraLowMemorySummary,
    loraMicroBatches: loraMicroSummary,
    loraOverFullStepTime: round(loraSummary.stepSeconds / fullSummary.stepSeconds),
    loraMicroBatchesOverLoraStepTime: round(loraMicroSummary.stepSeconds / loraSummary.stepSeconds),
    goals: {
      loraStepAtMost075OfFull: loraSummary.stepSeconds <= 0.75 * fullSummary.stepSeconds,
      peakRssAtMost4GbLora: loraSummary.peakRssMb <= 4096,
      peakRssAtMost4GbLoraLowMemory: loraLowMemorySummary.peakRssMb <= 4096,
      peakRssAtMost4GbLoraMicroBatches: loraMicroSummary.peakRssMb <= 4096,
      peakRssAtMost4GbFull: fullSummary.peakRssMb <= 4096,
    },
    thousandExamples: {
      tokensPerExample: options.tokensPerExample,
      steps: epochSteps,
      loraMinutes: round((epochSteps * loraSummary.stepSeconds) / 60, 1),
      loraMicroBatchesMinutes: round((epochSteps * loraMicroSummary.stepSeconds) / 60, 1),
      fullMinutes: round((epochSteps * fullSummary.stepSeconds) / 60, 1),
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await measureMode(JSON.parse(process.argv[2] ?? '') as ChildSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
