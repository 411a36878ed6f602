/**
 * Models for bench/decode.ts: random-weight bricks at a preset's or a published model's shape (speed
 * does not depend on the weights), their quantized model files beside the float32 one, and a plain
 * float32 MatMul session for the machine's peak.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/engine/graph.js';
import { serializeGraph } from '../src/engine/serialize.js';
import { exportBrick } from '../src/export/export-brick.js';
import { quantizeOnnxModel, type QuantizeOptions } from '../src/export/quantize-onnx.js';
import { type StudentArchitecture } from '../src/student/config.js';
import { initializeWeights } from '../src/student/initialize.js';
import { trainBpe } from '../src/tokenizer/bpe-trainer.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { writeTokenizerFiles } from '../src/tokenizer/tokenizer-files.js';
import { generateExamples } from '../src/worlds/index.js';

/** SmolLM2-135M's config.json (hidden 576, 30 layers, 9 heads over 3 key/value heads, tied 49,152 vocabulary). */
export const smolLm2Architecture: StudentArchitecture = {
  vocabSize: 49152,
  hiddenSize: 576,
  intermediateSize: 1536,
  numHiddenLayers: 30,
  numAttentionHeads: 9,
  numKeyValueHeads: 3,
  maxPositionEmbeddings: 2048,
  ropeTheta: 100000,
  rmsNormEps: 1e-5,
  initializerRange: 0.02,
  tieWordEmbeddings: true,
};

/** The quantized variants the benchmark times, by the file name they get under onnx/. */
export const quantizedVariants: Record<string, QuantizeOptions> = {
  'model-int8.onnx': { mode: 'int8' },
  'model-int8-nbits.onnx': { mode: 'int8', int8Kernel: 'matmul-nbits' },
  'model-int4.onnx': { mode: 'int4' },
};

/** A tokenizer of `vocabSize` tokens trained on world questions, and chat prompts of the first 8. */
export async function makeTokenizer(
  directory: string,
  vocabSize: number,
): Promise<{ prompts: (tokenizer: Tokenizer) => number[][] }> {
  const questions = [
    ...generateExamples({ world: 'math', n: 200, seed: 1, split: 'train' }),
    ...generateExamples({ world: 'hops', n: 200, seed: 1, split: 'train' }),
  ].map((example) => example.question);
  await writeTokenizerFiles(directory, trainBpe(questions, { vocabSize }), { modelMaxLength: 512 });
  return {
    prompts: (tokenizer) =>
      questions
        .slice(0, 8)
        .map((question) =>
          tokenizer.encode(
            tokenizer.applyChatTemplate([{ role: 'user', content: question }], { addGenerationPrompt: true }),
            { addSpecialTokens: false },
          ),
        ),
  };
}

/**
 * Exports a random-weight brick of `architecture` into `directory` and writes each quantized
 * variant's model file beside onnx/model.onnx; returns the seconds each quantization took.
 */
export async function makeBrick(
  directory: string,
  architecture: StudentArchitecture,
  tokenizerDirectory: string,
): Promise<Record<string, number>> {
  await exportBrick({
    architecture,
    weights: initializeWeights(architecture, 1),
    tokenizerDirectory,
    role: 'solver',
    lineage: { dataHash: null, teacher: null, training: { note: 'random weights for the decode benchmark' } },
    metrics: {},
    outDirectory: directory,
  });
  const fp32 = await readFile(join(directory, 'onnx', 'model.onnx'));
  const seconds: Record<string, number> = {};
  for (const [file, options] of Object.entries(quantizedVariants)) {
    const started = performance.now();
    const { model } = quantizeOnnxModel(fp32, options);
    seconds[file] = Math.round(performance.now() - started) / 1000;
    await writeFile(join(directory, 'onnx', file), model);
  }
  return seconds;
}

/** GFLOP/s of one float32 (n, n)·(n, n) MatMul in onnxruntime: the machine's peak, for context. */
export async function matmulPeak(n: number, runs: number): Promise<number> {
  const g = new Graph('peak');
  const a = g.input('a', 'float32', [n, n]);
  const b = g.initializer('b', 'float32', [n, n], new Float32Array(n * n).fill(0.5));
  g.output(g.matmul(a, b), 'c');
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const feeds = { a: new ort.Tensor('float32', new Float32Array(n * n).fill(0.25), [n, n]) };
  await session.run(feeds);
  const seconds: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    await session.run(feeds);
    seconds.push((performance.now() - started) / 1000);
  }
  await session.release();
  const best = Math.min(...seconds);
  return Math.round((2 * n ** 3) / best / 1e9);
}
