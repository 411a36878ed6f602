/**
 * The speed half of docs/experiments.md: micro (dense) against moe-micro (4 experts of half micro's
 * MLP width, top-2: the same active parameters), measured in one run so that both see the same
 * background load.
 *
 * - train: full training steps (Llama graph, AdamW) at the experiment's batch shape, 16 rows × 128
 *   tokens of packed synthetic documents, the two presets alternating step by step; the ratio is
 *   MoE tokens/s over dense tokens/s, which is how many MoE steps cost the wall-clock time of one
 *   dense step.
 * - decode (when both bricks are given): greedy decoding of the exported bricks' onnx/model.onnx at
 *   batch 1, a fixed number of new tokens after real prompts from the brick's tokenizer, the two
 *   bricks alternating; the bricks' decoding recipes (copy-names) are left out, so this is the
 *   models' own speed.
 *
 * Usage: node --import tsx bench/experiment-moe-micro.ts [--rounds N] [--dense-brick DIR --moe-brick DIR]
 * Prints one JSON object on stdout.
 */
import { parseArgs } from 'node:util';
import { countParameters, loadPreset } from '../src/student/config.js';
import { initializeWeights } from '../src/student/initialize.js';
import { Trainer } from '../src/engine/trainer.js';
import { batchFeeds, type Document, targetCapacity } from '../src/train/packing.js';
import { studentModel } from '../src/train/student-model.js';
import { generate } from '../src/runtime/generation/generate.js';
import { OnnxDecoderModel } from '../src/runtime/onnx/onnx-decoder.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

type Body = () => Promise<unknown>;

/** Seconds of each body per round, the bodies alternating round after round after one warm-up round. */
async function interleave(bodies: readonly Body[], rounds: number): Promise<number[][]> {
  for (const body of bodies) await body();
  const seconds = bodies.map((): number[] => []);
  for (let index = 0; index < rounds; index += 1)
    for (const [which, body] of bodies.entries()) {
      const start = process.hrtime.bigint();
      await body();
      seconds[which].push(Number(process.hrtime.bigint() - start) / 1e9);
    }
  return seconds;
}

/** One preset's training step at (rows, length): rows of two packed documents, as the trainer packs. */
async function trainingStep(presetName: string, rows: number, length: number) {
  const preset = await loadPreset(presetName);
  const { architecture } = preset;
  const half = length / 2;
  const documents: Document[] = Array.from({ length: 2 * rows }, (_, index) => ({
    inputIds: Array.from(
      { length: half + 1 },
      (__, position) => (index * 131 + position * 17) % architecture.vocabSize,
    ),
    lossMask: Array.from({ length: half + 1 }, (__, position) => (position > half / 2 ? 1 : 0)),
  }));
  const packed = Array.from({ length: rows }, (_, row) => [2 * row, 2 * row + 1]);
  const rowShape = { rows, length }; // (B, T)
  const shape = { ...rowShape, targets: targetCapacity(documents, packed, rowShape) };
  const { feeds } = batchFeeds(documents, packed, shape, 2);
  const trainer = await Trainer.create({
    model: studentModel(architecture, shape),
    initialParameters: initializeWeights(architecture, 1),
    optimizer: { maxGradientNorm: preset.training.gradientClip, weightDecay: preset.training.weightDecay },
    session: { intraOpNumThreads: 2, graphOptimizationLevel: 'all' },
  });
  return {
    parameters: countParameters(architecture),
    run: () => trainer.step([feeds], preset.training.learningRate),
    release: () => trainer.release(),
  };
}

async function trainSection(rounds: number): Promise<Record<string, unknown>> {
  const rows = 16;
  const length = 128;
  const dense = await trainingStep('micro', rows, length);
  const mixture = await trainingStep('moe-micro', rows, length);
  const [denseSeconds, mixtureSeconds] = await interleave([dense.run, mixture.run], rounds);
  await Promise.all([dense.release(), mixture.release()]);
  const tokens = rows * length;
  const denseRate = tokens / median(denseSeconds);
  const mixtureRate = tokens / median(mixtureSeconds);
  return {
    shape: { rows, length },
    rounds,
    dense: { preset: 'micro', parameters: dense.parameters, tokensPerSecond: round(denseRate) },
    mixture: { preset: 'moe-micro', parameters: mixture.parameters, tokensPerSecond: round(mixtureRate) },
    ratio: round(mixtureRate / denseRate, 3),
  };
}

/** A decompose-style question; speed does not depend on its words, only on its length. */
const decodePrompt = 'Tom has 12 apples. He buys 7 more and gives away 5. How many apples does Tom have now?';

async function decodeSection(
  denseBrick: string,
  mixtureBrick: string,
  rounds: number,
): Promise<Record<string, unknown>> {
  const newTokens = 48;
  const settings = { maxNewTokens: newTokens, minNewTokens: newTokens };
  const models = [await OnnxDecoderModel.load(denseBrick), await OnnxDecoderModel.load(mixtureBrick)];
  const prompts = await Promise.all(
    [denseBrick, mixtureBrick].map(async (directory) =>
      (await Tokenizer.load(directory)).encode(decodePrompt),
    ),
  );
  const [denseSeconds, mixtureSeconds] = await interleave(
    models.map((model, index) => async () => generate(model, [prompts[index]], settings)),
    rounds,
  );
  for (const model of models) await model.close();
  const denseRate = newTokens / median(denseSeconds);
  const mixtureRate = newTokens / median(mixtureSeconds);
  return {
    newTokens,
    batch: 1,
    rounds,
    dense: { brick: denseBrick, tokensPerSecond: round(denseRate) },
    mixture: { brick: mixtureBrick, tokensPerSecond: round(mixtureRate) },
    ratio: round(mixtureRate / denseRate, 3),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '12' },
      'dense-brick': { type: 'string' },
      'moe-brick': { type: 'string' },
      'skip-train': { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  const result: Record<string, unknown> = { benchmark: 'experiment-moe-micro' };
  if (!values['skip-train']) result.train = await trainSection(rounds);
  if (values['dense-brick'] !== undefined && values['moe-brick'] !== undefined)
    result.decode = await decodeSection(values['dense-brick'], values['moe-brick'], rounds);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
