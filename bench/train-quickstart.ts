/**
 * The quickstart decomposer's training step, measured as `dnc train` runs it: the micro preset at
 * 16 × 128, documents packed into rows (first fit), the head and the last layer's tail at the loss
 * positions, K planned from the run's own batches. Five bodies take turns round after round, so
 * each sees the same background load and the ratios between them are the numbers to read:
 *
 * - `matmul`: a 1024³ float32 MatMul on two threads (the peak the step is compared with);
 * - `step`: the training step on two threads (the default on this 2-core machine);
 * - `deterministic`: the same step on one thread (`dnc train --deterministic`);
 * - `orderFreeKStep`: the step with K from `targetCapacity` (the fullest rows summed, any order), the
 *   bound the planner used before it listed the run's batches.
 * - `dataParallel`: the step as `--data-parallel 2` runs it: two gradient workers of 8 rows each,
 *   one onnxruntime thread each, and the update on one thread (`dataParallelOverStep`).
 *
 * The documents are synthetic but shaped like the quickstart decomposer's chat rows (measured on
 * its 19,000 training examples: 16–123 positions, median 64, mean 65.7; 52% of positions are
 * assistant targets), so no collection has to run first. Run it alone:
 * `npx tsx bench/train-quickstart.ts [--quick]` prints one JSON object (`dnc bench train` includes
 * it as `quickstart`).
 */
import { fileURLToPath } from 'node:url';
import { Graph } from '../src/engine/graph.js';
import { serializeGraph } from '../src/engine/serialize.js';
import { EngineSession, type EngineSessionOptions, tensor } from '../src/engine/session.js';
import { Trainer } from '../src/engine/trainer.js';
import { countParameters, loadPreset } from '../src/student/config.js';
import { initializeWeights } from '../src/student/initialize.js';
import {
  type Document,
  epochBatches,
  packRows,
  plannedTargetCapacity,
  type Row,
  seededPermutation,
  targetCapacity,
} from '../src/train/packing.js';
import { microBatchFeeds, weightedLossModel } from '../src/train/micro-batches.js';
import { type BatchShape, studentModel, studentStepFlops } from '../src/train/student-model.js';

interface Body {
  name: string;
  /** Runs one unit of work; returns the document tokens it trained on (0 for the MatMul). */
  run(): Promise<number>;
  flops: number;
  release(): Promise<void>;
}

/** Chat rows shaped like the quickstart decomposer's: 17–124 tokens, the second half the answer. */
function quickstartDocuments(count: number, vocabulary: number): Document[] {
  return Array.from({ length: count }, (_, index) => {
    const length = 17 + ((index * 7919) % 97) + ((index * 31) % 12); // 17..124 tokens, mean ≈ 70
    const prompt = Math.round(length * 0.48);
    return {
      inputIds: Array.from(
        { length },
        (__, position) => 4 + ((index * 131 + position * 17) % (vocabulary - 4)),
      ),
      lossMask: Array.from({ length }, (__, position) => (position >= prompt ? 1 : 0)),
    };
  });
}

async function matmulBody(size: number, session: EngineSessionOptions): Promise<Body> {
  const g = new Graph('matmul_peak');
  const a = g.input('a', 'float32', [size, size]); // (n, n)
  g.output(g.matmul(a, a), 'c'); // (n, n)
  const engine = await EngineSession.create(serializeGraph(g), session, 'matmul peak');
  const values = Float32Array.from(
    { length: size * size },
    (_, index) => ((index * 7919) % 1000) / 1000 - 0.5,
  );
  const feeds = { a: tensor('float32', values, [size, size]) };
  const output = { c: tensor('float32', new Float32Array(size * size), [size, size]) };
  return {
    name: 'matmul',
    run: async () => {
      await engine.run(feeds, output);
      return 0;
    },
    flops: 2 * size ** 3,
    release: () => engine.release(),
  };
}

async function stepBody(
  name: string,
  setup: {
    documents: Document[];
    batches: readonly Row[][];
    shape: BatchShape;
    threads: number;
    /** Data-parallel workers (each one micro-batch of shape.rows rows); absent: one fused step. */
    workers?: number;
  },
): Promise<Body> {
  const preset = await loadPreset('micro');
  const { architecture, training } = preset;
  const { workers } = setup;
  const model = studentModel(architecture, setup.shape);
  const trainer = await Trainer.create({
    model: workers === undefined ? model : weightedLossModel(model),
    initialParameters: initializeWeights(architecture, 1),
    optimizer: { maxGradientNorm: training.gradientClip, weightDecay: training.weightDecay },
    session: { intraOpNumThreads: setup.threads },
    ...(workers === undefined ? {} : { workers, microBatches: workers }),
  });
  const feeds = setup.batches.map((batch) =>
    microBatchFeeds(setup.documents, batch, setup.shape, workers ?? 1, 0),
  );
  let cursor = 0;
  return {
    name,
    run: async () => {
      const batch = feeds[cursor++ % feeds.length]!;
      await trainer.step(batch.feeds, 0.01);
      return batch.tokens;
    },
    flops: studentStepFlops(architecture, setup.shape) * (workers ?? 1),
    release: () => trainer.release(),
  };
}

const median = (values: readonly number[]): number =>
  [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)] as number;
const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;

export async function run(options: { quick: boolean }): Promise<Record<string, unknown>> {
  const rounds = options.quick ? 2 : 12;
  const stepsPerRound = options.quick ? 1 : 3;
  const architecture = (await loadPreset('micro')).architecture;
  const rowShape = { rows: 16, length: 128 }; // (B, T): the quickstart's batch
  const documents = quickstartDocuments(options.quick ? 400 : 4000, architecture.vocabSize);
  const rows = packRows(documents, seededPermutation(documents.length, 1, 'packing'), rowShape.length);
  const batches = epochBatches(rows, rowShape.rows, 1, 0).filter((batch) => batch.length === rowShape.rows);
  const planned = { ...rowShape, targets: plannedTargetCapacity(documents, batches, rowShape) };
  const orderFree = { ...rowShape, targets: targetCapacity(documents, rows, rowShape) };
  const halfShape = { rows: rowShape.rows / 2, length: rowShape.length }; // (B / 2, T): one worker's rows
  const halves = batches.flatMap((batch) => [batch.slice(0, halfShape.rows), batch.slice(halfShape.rows)]);
  const half = { ...halfShape, targets: plannedTargetCapacity(documents, halves, halfShape) };
  const bodies = [
    await matmulBody(options.quick ? 256 : 1024, { intraOpNumThreads: 2 }),
    await stepBody('step', { documents, batches, shape: planned, threads: 2 }),
    await stepBody('deterministic', { documents, batches, shape: planned, threads: 1 }),
    await stepBody('orderFreeKStep', { documents, batches, shape: orderFree, threads: 2 }),
    await stepBody('dataParallel', { documents, batches, shape: half, threads: 2, workers: 2 }),
  ];
  const seconds = new Map(bodies.map((body) => [body.name, [] as number[]]));
  const tokens = new Map(bodies.map((body) => [body.name, [] as number[]]));
  for (let round = -1; round < rounds; round += 1)
    for (const body of bodies) {
      const started = process.hrtime.bigint();
      let trained = 0;
      for (let step = 0; step < stepsPerRound; step += 1) trained += await body.run();
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9 / stepsPerRound;
      if (round < 0) continue; // warm-up
      seconds.get(body.name)!.push(elapsed);
      tokens.get(body.name)!.push(trained / stepsPerRound / elapsed);
    }
  await Promise.all(bodies.map((body) => body.release()));
  const summary = Object.fromEntries(
    bodies.map((body) => {
      const time = median(seconds.get(body.name)!);
      return [
        body.name,
        body.name === 'matmul'
          ? { gflops: round(body.flops / time / 1e9, 1) }
          : {
              stepMs: round(time * 1000, 1),
              tokensPerSecond: Math.round(median(tokens.get(body.name)!)),
              achievedGflops: round(body.flops / time / 1e9, 1),
            },
      ];
    }),
  ) as Record<
    string,
    { gflops?: number; stepMs?: number; tokensPerSecond?: number; achievedGflops?: number }
  >;
  // Ratios per round (same load), then the median.
  const ratio = (over: string, under: string): number =>
    round(median(seconds.get(under)!.map((time, index) => time / seconds.get(over)![index]!)));
  return {
    benchmark: 'train-quickstart',
    quick: options.quick,
    preset: 'micro',
    params: countParameters(architecture),
    batch: rowShape,
    plannedK: planned.targets,
    orderFreeK: orderFree.targets,
    stepGflop: round(studentStepFlops(architecture, planned) / 1e9),
    ...summary,
    mfu: round((summary.step?.achievedGflops ?? 0) / (summary.matmul?.gflops ?? 1)),
    deterministicOverStep: ratio('deterministic', 'step'),
    stepOverOrderFreeK: ratio('step', 'orderFreeKStep'),
    dataParallelOverStep: ratio('dataParallel', 'step'),
    note: 'tokens are document tokens (padding excluded); the bodies take turns each round; ratios are per-round medians (X over Y = X tokens/s ÷ Y tokens/s); FLOPs count the matmuls (studentStepFlops)',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
