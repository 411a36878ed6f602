import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff.js';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { loadPreset, headDimension, type StudentArchitecture } from '../../src/student/config.js';
import { initializeWeights } from '../../src/student/initialize.js';
import {
  buildLlamaDecoderGraph,
  declareLlamaParameters,
  decoderNames,
  llamaForward,
} from '../../src/student/llama-graph.js';
import { referenceForward } from '../../src/student/reference-forward.js';

let architecture: StudentArchitecture;
let weights: Map<string, Float32Array>;

beforeAll(async () => {
  architecture = (await loadPreset('nano')).architecture;
  // A larger init spreads the logits so that a wrong rotation or mask shows up clearly.
  weights = initializeWeights({ ...architecture, initializerRange: 0.2 }, 7);
});

const tokens = (count: number, seed: number): number[] =>
  Array.from({ length: count }, (_, index) => (index * 37 + seed * 101 + 11) % 512);

function maxDifference(left: Float32Array, right: Float32Array): number {
  expect(left.length).toBe(right.length);
  let worst = 0;
  for (let index = 0; index < left.length; index += 1)
    worst = Math.max(worst, Math.abs(left[index] - right[index]));
  return worst;
}

const int64 = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

describe('Llama graph, training mode', () => {
  it('gives the reference forward pass logits for every row of a batch', async () => {
    const [batch, time] = [2, 12];
    const g = new Graph('training_forward');
    const parameters = declareLlamaParameters(g, architecture);
    const inputIds = g.input('input_ids', 'int64', [batch, time]);
    const { logits } = llamaForward(g, architecture, parameters, { inputIds });
    expect(logits?.shape).toEqual([batch, time, architecture.vocabSize]);
    g.output(logits!, 'logits');
    const session = await ort.InferenceSession.create(serializeGraph(g));
    const rows = [tokens(time, 1), tokens(time, 2)];
    const feeds: Record<string, ort.Tensor> = { input_ids: int64(rows.flat(), [batch, time]) };
    for (const [name, data] of weights)
      feeds[name] = new ort.Tensor('float32', data, parameters.get(name)!.shape as number[]);
    const output = (await session.run(feeds)).logits.data as Float32Array;
    const size = time * architecture.vocabSize;
    rows.forEach((row, index) => {
      const expected = referenceForward(architecture, weights, row);
      expect(maxDifference(output.subarray(index * size, (index + 1) * size), expected)).toBeLessThan(1e-4);
    });
  });
});

describe('Llama graph, cached decoder mode', () => {
  let session: ort.InferenceSession;
  const kvHeads = () => architecture.numKeyValueHeads;

  beforeAll(async () => {
    session = await ort.InferenceSession.create(
      serializeGraph(buildLlamaDecoderGraph(architecture, weights)),
    );
  });

  function emptyCache(batch: number): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < architecture.numHiddenLayers; layer += 1)
      for (const name of [decoderNames.pastKey(layer), decoderNames.pastValue(layer)])
        feeds[name] = new ort.Tensor('float32', new Float32Array(0), [
          batch,
          kvHeads(),
          0,
          headDimension(architecture),
        ]);
    return feeds;
  }

  function nextCache(output: ort.InferenceSession.OnnxValueMapType): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < architecture.numHiddenLayers; layer += 1) {
      feeds[decoderNames.pastKey(layer)] = output[decoderNames.presentKey(layer)] as ort.Tensor;
      feeds[decoderNames.pastValue(layer)] = output[decoderNames.presentValue(layer)] as ort.Tensor;
    }
    return feeds;
  }

  it('prefill then one-token steps give the full-sequence reference logits', async () => {
    const sequence = tokens(14, 3);
    const expected = referenceForward(architecture, weights, sequence);
    const V = architecture.vocabSize;
    const prefill = 9;
    let output = await session.run({
      input_ids: int64(sequence.slice(0, prefill), [1, prefill]),
      attention_mask: int64(Array(prefill).fill(1), [1, prefill]),
      position_ids: int64([...Array(prefill).keys()], [1, prefill]),
      ...emptyCache(1),
    });
    expect(maxDifference(output.logits.data as Float32Array, expected.subarray(0, prefill * V))).toBeLessThan(
      1e-4,
    );
    for (let position = prefill; position < sequence.length; position += 1) {
      output = await session.run({
        input_ids: int64([sequence[position]], [1, 1]),
        attention_mask: int64(Array(position + 1).fill(1), [1, position + 1]),
        position_ids: int64([position], [1, 1]),
        ...nextCache(output),
      });
      expect((output[decoderNames.presentKey(0)] as ort.Tensor).dims[2]).toBe(position + 1);
      const row = expected.subarray(position * V, (position + 1) * V);
      expect(maxDifference(output.logits.data as Float32Array, row)).toBeLessThan(1e-4);
    }
  });

  it('a left-padded row of a batch gets the same logits as when run alone', async () => {
    const short = tokens(5, 4);
    const long = tokens(8, 5);
    const V = architecture.vocabSize;
    const padding = long.length - short.length;
    const ids = [...Array(padding).fill(0), ...short, ...long];
    const mask = [...Array(padding).fill(0), ...short.map(() => 1), ...long.map(() => 1)];
    const positions = [...Array(padding).fill(0), ...short.keys(), ...long.keys()];
    let output = await session.run({
      input_ids: int64(ids, [2, long.length]),
      attention_mask: int64(mask, [2, long.length]),
      position_ids: int64(positions, [2, long.length]),
      ...emptyCache(2),
    });
    const logits = output.logits.data as Float32Array;
    const shortExpected = referenceForward(architecture, weights, short);
    const longExpected = referenceForward(architecture, weights, long);
    expect(maxDifference(logits.subarray(padding * V, long.length * V), shortExpected)).toBeLessThan(1e-4);
    expect(maxDifference(logits.subarray(long.length * V), longExpected)).toBeLessThan(1e-4);
    // One cached step: both rows continue with token 42.
    output = await session.run({
      input_ids: int64([42, 42], [2, 1]),
      attention_mask: int64(
        [...mask.slice(0, long.length), 1, ...mask.slice(long.length), 1],
        [2, long.length + 1],
      ),
      position_ids: int64([short.length, long.length], [2, 1]),
      ...nextCache(output),
    });
    const step = output.logits.data as Float32Array;
    const shortNext = referenceForward(architecture, weights, [...short, 42]).subarray(short.length * V);
    const longNext = referenceForward(architecture, weights, [...long, 42]).subarray(long.length * V);
    expect(maxDifference(step.subarray(0, V), shortNext)).toBeLessThan(1e-4);
    expect(maxDifference(step.subarray(V), longNext)).toBeLessThan(1e-4);
  });
});

describe('Llama graph, differentiable', () => {
  it('autodiff builds every parameter gradient, and one matches a finite difference', async () => {
    const [batch, time] = [1, 6];
    const g = new Graph('training_gradients');
    const parameters = declareLlamaParameters(g, architecture);
    const inputIds = g.input('input_ids', 'int64', [batch, time]);
    const targets = g.input('targets', 'int64', [batch * time]);
    const mask = g.input('mask', 'float32', [batch * time]);
    const { logitsRows } = llamaForward(g, architecture, parameters, { inputIds });
    const loss = g.maskedCrossEntropy(logitsRows, targets, mask);
    const names = [...parameters.keys()];
    const grads = gradients(g, loss, [...parameters.values()]);
    g.output(loss, 'loss');
    const probe = 'model.layers.1.self_attn.k_proj.weight';
    g.output(grads[names.indexOf(probe)], 'probe_gradient');
    const session = await ort.InferenceSession.create(serializeGraph(g));
    const sequence = tokens(time + 1, 9);
    const run = async (values: Map<string, Float32Array>) => {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: int64(sequence.slice(0, time), [batch, time]),
        targets: int64(sequence.slice(1), [batch * time]),
        mask: new ort.Tensor('float32', Float32Array.from([0, 1, 1, 1, 1, 1]), [time]),
      };
      for (const [name, data] of values)
        feeds[name] = new ort.Tensor('float32', data, parameters.get(name)!.shape as number[]);
      return session.run(feeds);
    };
    const base = await run(weights);
    const index = 5;
    const analytic = (base.probe_gradient.data as Float32Array)[index];
    const step = 1e-2;
    const shifted = (delta: number) => {
      const copy = new Map(weights);
      const tensor = Float32Array.from(weights.get(probe)!);
      tensor[index] += delta;
      copy.set(probe, tensor);
      return copy;
    };
    const plus = (await run(shifted(step))).loss.data[0] as number;
    const minus = (await run(shifted(-step))).loss.data[0] as number;
    expect(Math.abs(analytic)).toBeGreaterThan(1e-5);
    expect(analytic).toBeCloseTo((plus - minus) / (2 * step), 3);
  });
});
