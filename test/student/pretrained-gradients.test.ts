/**
 * The training graph differentiates what the pretrained architectures add: projection biases
 * (Qwen2), per-head q/k norms and an untied head (Qwen3), Llama 3 rope scaling. Each probed
 * gradient entry is compared with a central finite difference of the loss.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff.js';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { loadPretrainedCheckpoint } from '../../src/student/hugging-face-checkpoint.js';
import { declareLlamaParameters, llamaForward } from '../../src/student/llama-graph.js';
import {
  checkpointCases,
  fixtureVocabSize,
  temporaryDirectory,
  writeCheckpoint,
} from './hugging-face-fixtures.js';

const int64 = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

const probes: Array<[string, string[]]> = [
  ['qwen2-biases-bf16', ['model.layers.0.self_attn.q_proj.bias', 'model.layers.1.self_attn.v_proj.bias']],
  [
    'qwen3-head-dim-untied-f32-sharded',
    ['model.layers.0.self_attn.q_norm.weight', 'model.layers.1.self_attn.k_norm.weight', 'lm_head.weight'],
  ],
  ['llama3-scaled-untied-bf16-sharded', ['model.layers.1.self_attn.k_proj.weight']],
];

describe('training-graph gradients of the pretrained architectures', () => {
  it.each(probes)('%s: probed gradients match finite differences', async (caseName, names) => {
    const directory = await temporaryDirectory('dnc-hf-gradients-');
    await writeCheckpoint(
      directory,
      checkpointCases.find((testCase) => testCase.name === caseName)!,
    );
    const { architecture, weights } = await loadPretrainedCheckpoint(directory);
    const time = 8;
    const g = new Graph('pretrained_gradients');
    const parameters = declareLlamaParameters(g, architecture);
    const inputIds = g.input('input_ids', 'int64', [1, time]);
    const targets = g.input('targets', 'int64', [time]);
    const mask = g.input('mask', 'float32', [time]);
    const { logitsRows } = llamaForward(g, architecture, parameters, { inputIds });
    const loss = g.maskedCrossEntropy(logitsRows, targets, mask);
    const grads = gradients(
      g,
      loss,
      names.map((name) => parameters.get(name)!),
    );
    g.output(loss, 'loss');
    grads.forEach((gradient, index) => g.output(gradient, `gradient_${index}`));
    const session = await ort.InferenceSession.create(serializeGraph(g));
    const sequence = Array.from({ length: time + 1 }, (_, index) => (index * 29 + 3) % fixtureVocabSize);
    const run = (values: Map<string, Float32Array>) => {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: int64(sequence.slice(0, time), [1, time]),
        targets: int64(sequence.slice(1), [time]),
        mask: new ort.Tensor('float32', new Float32Array(time).fill(1), [time]),
      };
      for (const [name, data] of values)
        feeds[name] = new ort.Tensor('float32', data, parameters.get(name)!.shape as number[]);
      return session.run(feeds);
    };
    const base = await run(weights);
    for (const [probe, name] of names.entries()) {
      const analytic = base[`gradient_${probe}`].data as Float32Array;
      // The entry with the largest gradient, so the finite difference is well above float32 noise.
      const index = analytic.reduce(
        (best, value, at) => (Math.abs(value) > Math.abs(analytic[best]) ? at : best),
        0,
      );
      const step = 1e-2;
      const shifted = async (delta: number) => {
        const copy = new Map(weights);
        const tensor = Float32Array.from(weights.get(name)!);
        tensor[index] += delta;
        copy.set(name, tensor);
        return (await run(copy)).loss.data[0] as number;
      };
      const numeric = ((await shifted(step)) - (await shifted(-step))) / (2 * step);
      expect(Math.abs(analytic[index]), name).toBeGreaterThan(1e-3);
      expect(Math.abs(analytic[index] - numeric) / Math.abs(numeric), name).toBeLessThan(2e-2);
    }
  });
});
