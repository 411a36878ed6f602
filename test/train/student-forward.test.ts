import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { tensor } from '../../src/engine/session.js';
import { Trainer } from '../../src/engine/trainer.js';
import { loadPreset, type StudentArchitecture } from '../../src/student/config.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { declareLlamaParameters } from '../../src/student/llama-graph.js';
import { referenceForward } from '../../src/student/reference-forward.js';
import { batchFeeds, type Document, packRows, targetCapacity } from '../../src/train/packing.js';
import { studentForward, studentModel } from '../../src/train/student-model.js';

let architecture: StudentArchitecture;
let weights: Map<string, Float32Array>;
const shape = { rows: 2, length: 24 }; // (B, T)

/** Documents of 7..13 tokens; three share a row, the rest fill the other row with a padded tail. */
const documents: Document[] = [7, 13, 9, 11, 8].map((length, index) => ({
  inputIds: Array.from({ length }, (_, position) => (position * 31 + index * 97 + 5) % 512),
  lossMask: Array.from({ length }, (_, position) => (position >= 3 ? 1 : 0)),
}));

beforeAll(async () => {
  architecture = (await loadPreset('nano')).architecture;
  weights = initializeWeights({ ...architecture, initializerRange: 0.2 }, 11); // wide init: sharp differences
});

function maxDifference(left: Float32Array, right: Float32Array): number {
  let worst = 0;
  for (let index = 0; index < left.length; index += 1)
    worst = Math.max(worst, Math.abs(left[index] - right[index]));
  return worst;
}

/** Mean cross-entropy over the masked targets, from the reference logits of each document alone. */
function referenceLoss(rows: readonly (readonly number[])[]): number {
  const V = architecture.vocabSize;
  let total = 0;
  let count = 0;
  for (const row of rows)
    for (const index of row) {
      const { inputIds, lossMask } = documents[index];
      const logits = referenceForward(architecture, weights, inputIds.slice(0, -1));
      for (let position = 0; position + 1 < inputIds.length; position += 1) {
        if (lossMask[position + 1] === 0) continue;
        const rowLogits = logits.subarray(position * V, (position + 1) * V);
        const max = Math.max(...rowLogits);
        const logSum = Math.log(rowLogits.reduce((sum, value) => sum + Math.exp(value - max), 0)) + max;
        total += logSum - rowLogits[inputIds[position + 1]];
        count += 1;
      }
    }
  return total / count;
}

describe('the training graph on packed rows', () => {
  it('gives every packed document the logits of the reference forward pass run on it alone', async () => {
    const rows = packRows(documents, [4, 3, 2, 1, 0], shape.length);
    expect(rows.length).toBe(shape.rows);
    expect(rows.some((row) => row.length >= 2)).toBe(true); // documents really share rows
    const g = new Graph('student_forward');
    const parameters = declareLlamaParameters(g, architecture);
    g.output(studentForward(g, architecture, parameters, shape).logits!, 'logits'); // (B, T, V)
    const session = await ort.InferenceSession.create(serializeGraph(g));
    const feeds: Record<string, ort.Tensor> = { ...batchFeeds(documents, rows, shape, 2).feeds };
    for (const [name, data] of weights)
      feeds[name] = tensor('float32', data, parameters.get(name)!.shape as number[]);
    const logits = (await session.run(feeds)).logits.data as Float32Array; // (B, T, V)
    const V = architecture.vocabSize;
    rows.forEach((row, rowIndex) => {
      let offset = rowIndex * shape.length;
      for (const index of row) {
        const inputs = documents[index].inputIds.slice(0, -1);
        const expected = referenceForward(architecture, weights, inputs);
        const actual = logits.subarray(offset * V, (offset + inputs.length) * V);
        expect(maxDifference(actual, expected)).toBeLessThan(2e-4);
        offset += inputs.length;
      }
    });
  });

  it("the trainer's loss on a packed batch is the reference cross-entropy over assistant targets", async () => {
    const rows = packRows(documents, [4, 3, 2, 1, 0], shape.length);
    const trainer = await Trainer.create({
      model: studentModel(architecture, shape),
      initialParameters: weights,
    });
    const loss = await trainer.evaluate(batchFeeds(documents, rows, shape, 2).feeds);
    expect(loss).toBeGreaterThan(1);
    expect(Math.abs(loss - referenceLoss(rows))).toBeLessThan(1e-4);
    await trainer.release();
  });

  it('feeding the loss positions alone gives the same loss and the same update as feeding every position', async () => {
    const rows = packRows(documents, [4, 3, 2, 1, 0], shape.length);
    const targets = targetCapacity(documents, rows, shape);
    expect(targets).toBeLessThan(shape.rows * shape.length); // the head really runs on fewer rows
    const full = await Trainer.create({
      model: studentModel(architecture, shape),
      initialParameters: weights,
    });
    const gathered = await Trainer.create({
      model: studentModel(architecture, { ...shape, targets }),
      initialParameters: weights,
    });
    const fullFeeds = batchFeeds(documents, rows, shape, 2).feeds;
    const gatheredFeeds = batchFeeds(documents, rows, { ...shape, targets }, 2).feeds;
    expect(Math.abs((await gathered.evaluate(gatheredFeeds)) - referenceLoss(rows))).toBeLessThan(1e-4);
    await full.step([fullFeeds], 1e-2);
    await gathered.step([gatheredFeeds], 1e-2);
    const after = gathered.parameters();
    for (const [name, value] of full.parameters())
      expect(maxDifference(after.get(name)!, value)).toBeLessThan(1e-5);
    await Promise.all([full.release(), gathered.release()]);
  });
});
