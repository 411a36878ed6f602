/**
 * The training graph with the loss positions fed (K): the last layer's rows are gathered right after
 * its attention, so its o_proj, MLP and the final norm run on K rows, not B·T. Same batch, every
 * position fed vs the loss positions alone: the same loss and the same gradient of every parameter
 * (1e-5), and the gathered graph really runs the last layer's MLP on K rows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeGraph } from '../../src/engine/serialize.js';
import { EngineSession, tensor, type Feeds } from '../../src/engine/session.js';
import { buildAccumulateGraph, trainingOutputNames } from '../../src/engine/training-graphs.js';
import { loadPreset, type StudentArchitecture } from '../../src/student/config.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { batchFeeds, type Document, packRows, plannedTargetCapacity } from '../../src/train/packing.js';
import { type BatchShape, studentModel } from '../../src/train/student-model.js';

let architecture: StudentArchitecture;
let weights: Map<string, Float32Array>;
const shape = { rows: 4, length: 32 }; // (B, T)

/** Documents of 6..20 tokens, the first half of each a prompt (no loss), packed two or three a row. */
const documents: Document[] = [12, 20, 6, 15, 9, 17, 11, 8].map((length, index) => ({
  inputIds: Array.from({ length }, (_, position) => (position * 37 + index * 101 + 3) % 512),
  lossMask: Array.from({ length }, (_, position) => (position >= length / 2 ? 1 : 0)),
}));

beforeAll(async () => {
  architecture = (await loadPreset('nano')).architecture;
  weights = initializeWeights({ ...architecture, initializerRange: 0.2 }, 5);
});

/** Loss and every parameter's gradient of one batch (the accumulate graph from zero accumulators). */
async function lossAndGradients(batchShape: BatchShape, feeds: Feeds) {
  const model = studentModel(architecture, batchShape);
  const session = await EngineSession.create(serializeGraph(buildAccumulateGraph(model)), {
    intraOpNumThreads: 1,
  });
  const inputs: Feeds = { ...feeds };
  for (const spec of model.parameters) {
    inputs[spec.name] = tensor('float32', weights.get(spec.name)!, spec.shape);
    const size = spec.shape.reduce((product, dimension) => product * dimension, 1);
    inputs[trainingOutputNames.accumulated(spec.name)] = tensor(
      'float32',
      new Float32Array(size),
      spec.shape,
    );
  }
  const out = await session.run(inputs);
  await session.release();
  const gradients = new Map(
    model.parameters.map((spec) => [
      spec.name,
      out[`next.${trainingOutputNames.accumulated(spec.name)}`]?.data as Float32Array,
    ]),
  );
  return { loss: (out[trainingOutputNames.loss].data as Float32Array)[0], gradients };
}

describe('feeding the loss positions alone', () => {
  it('gives the loss and gradients of feeding every position (1e-5)', async () => {
    const rows = packRows(
      documents,
      documents.map((_, index) => index),
      shape.length,
    );
    expect(rows.length).toBeLessThanOrEqual(shape.rows);
    const K = plannedTargetCapacity(documents, [rows], shape);
    expect(K).toBeLessThan(shape.rows * shape.length); // the head and the last layer run on fewer rows
    const full = await lossAndGradients(shape, batchFeeds(documents, rows, shape, 2).feeds);
    const gathered = await lossAndGradients(
      { ...shape, targets: K },
      batchFeeds(documents, rows, { ...shape, targets: K }, 2).feeds,
    );
    expect(full.loss).toBeGreaterThan(1);
    expect(Math.abs(gathered.loss - full.loss)).toBeLessThan(1e-5);
    let largest = 0;
    for (const [name, gradient] of full.gradients) {
      const other = gathered.gradients.get(name)!;
      expect(other, name).toBeInstanceOf(Float32Array);
      for (let index = 0; index < gradient.length; index += 1) {
        expect(Math.abs(other[index] - gradient[index]), `${name}[${index}]`).toBeLessThan(1e-5);
        largest = Math.max(largest, Math.abs(gradient[index]));
      }
    }
    expect(largest).toBeGreaterThan(1e-3); // gradients that could differ
  });

  it("runs the last layer's o_proj and MLP on K rows and the earlier layers on B·T", () => {
    const K = 40;
    const graph = buildAccumulateGraph(studentModel(architecture, { ...shape, targets: K }));
    const last = architecture.numHiddenLayers - 1;
    const rowsOf = (weight: string): number[] =>
      graph.nodes
        .filter((node) => node.opType === 'Gemm' && node.inputs[1]?.name === weight)
        .map((node) => node.outputs[0].shape[0] as number);
    for (const module of ['self_attn.o_proj', 'mlp.down_proj']) {
      // The forward product x · Wᵀ and the backward dy · W, both on the layer's rows.
      expect(rowsOf(`model.layers.${last}.${module}.weight`)).toEqual([K, K]);
      expect(rowsOf(`model.layers.0.${module}.weight`)).toEqual([
        shape.rows * shape.length,
        shape.rows * shape.length,
      ]);
    }
  });
});
