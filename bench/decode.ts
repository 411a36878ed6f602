/**
 * Decoding benchmark: a `tiny`-preset student (random weights; speed does not depend on them) is
 * exported as a brick, then greedy decoding is timed three ways on the same `onnx/model.onnx`:
 * dnc's runtime at batch 1 and at batch 8 (total tokens/s), and @huggingface/transformers'
 * `generate` at batch 1 in the same process. Every run produces exactly `newTokens` tokens (end
 * tokens are suppressed until then on both sides) after one untimed warm-up run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { exportBrick } from '../src/export/export-brick.js';
import { generate } from '../src/runtime/generation/generate.js';
import { OnnxDecoderModel } from '../src/runtime/onnx/onnx-decoder.js';
import { loadPreset } from '../src/student/config.js';
import { initializeWeights } from '../src/student/initialize.js';
import { trainBpe } from '../src/tokenizer/bpe-trainer.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { writeTokenizerFiles } from '../src/tokenizer/tokenizer-files.js';
import { generateExamples } from '../src/worlds/index.js';

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number): number => Math.round(value * 10) / 10;

async function makeBrick(root: string): Promise<{ directory: string; prompts: number[][] }> {
  const { architecture } = await loadPreset('tiny');
  const questions = [
    ...generateExamples({ world: 'math', n: 200, seed: 1, split: 'train' }),
    ...generateExamples({ world: 'hops', n: 200, seed: 1, split: 'train' }),
  ].map((example) => example.question);
  const tokenizerDirectory = join(root, 'tokenizer');
  await writeTokenizerFiles(tokenizerDirectory, trainBpe(questions, { vocabSize: architecture.vocabSize }), {
    modelMaxLength: architecture.maxPositionEmbeddings,
  });
  const directory = join(root, 'tiny-brick');
  await exportBrick({
    architecture,
    weights: initializeWeights(architecture, 1),
    tokenizerDirectory,
    role: 'solver',
    lineage: { dataHash: null, teacher: null, training: { note: 'random weights for the decode benchmark' } },
    metrics: {},
    outDirectory: directory,
  });
  const tokenizer = await Tokenizer.load(directory);
  const prompts = questions.slice(0, 8).map((question) =>
    tokenizer.encode(
      tokenizer.applyChatTemplate([{ role: 'user', content: question }], { addGenerationPrompt: true }),
      {
        addSpecialTokens: false,
      },
    ),
  );
  return { directory, prompts };
}

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

export async function run(options: { quick: boolean }): Promise<Record<string, unknown>> {
  const newTokens = options.quick ? 16 : 64;
  const runs = options.quick ? 2 : 5;
  const root = await mkdtemp(join(tmpdir(), 'dnc-bench-decode-'));
  try {
    const { directory, prompts } = await makeBrick(root);
    const model = await OnnxDecoderModel.load(directory);
    const settings = { maxNewTokens: newTokens, minNewTokens: newTokens };
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(directory);
    const theirs = await AutoModelForCausalLM.from_pretrained(basename(directory), {
      dtype: 'fp32',
      local_files_only: true,
    });
    const ids = prompts[0];
    const inputIds = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const attentionMask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
    const [batch1Seconds, theirSeconds, batch8Seconds] = await timeInterleaved(runs, [
      async () => void (await generate(model, [ids], settings)),
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
      async () => void (await generate(model, prompts, settings)),
    ]);
    await model.close();
    await theirs.dispose();

    const batch1TokensPerSecond = newTokens / batch1Seconds;
    const batch8TokensPerSecond = (prompts.length * newTokens) / batch8Seconds;
    const transformersJsTokensPerSecond = newTokens / theirSeconds;
    return {
      preset: 'tiny',
      newTokens,
      promptTokens: ids.length,
      runs,
      batch1TokensPerSecond: round(batch1TokensPerSecond),
      batch8TokensPerSecond: round(batch8TokensPerSecond),
      transformersJsTokensPerSecond: round(transformersJsTokensPerSecond),
      ratio: Math.round((batch1TokensPerSecond / transformersJsTokensPerSecond) * 100) / 100,
      batch8OverBatch1: Math.round((batch8TokensPerSecond / batch1TokensPerSecond) * 100) / 100,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      note: 'medians of timed runs after a warm-up; the machine is shared, so numbers vary with other load',
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
