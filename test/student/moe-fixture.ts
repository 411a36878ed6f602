/** Test fixtures for MoE students: a nano architecture with a mixture, its training-graph logits, an exported brick. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type Value } from '../../src/engine/graph-core.js';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { exportBrick } from '../../src/export/export-brick.js';
import { loadPreset, type StudentArchitecture } from '../../src/student/config.js';
import { studentWeightShapes } from '../../src/student/initialize.js';
import { declareLlamaParameters, llamaForward } from '../../src/student/llama-graph.js';
import { type MixtureOfExperts } from '../../src/student/moe-config.js';
import { balanceLoss } from '../../src/student/moe-layer.js';
import { makeTokenizer } from '../export/brick-fixture.js';

export const mixture = (
  experts: number,
  topK: number,
  extra: Partial<MixtureOfExperts> = {},
): MixtureOfExperts => ({ experts, topK, router: 'softmax', balanceLoss: 0.01, zLoss: 0.001, ...extra });

export async function nanoArchitecture(moe?: MixtureOfExperts): Promise<StudentArchitecture> {
  const { architecture } = await loadPreset('nano');
  return { ...architecture, moe };
}

export const tokens = (count: number, seed: number): number[] =>
  Array.from({ length: count }, (_, index) => (index * 37 + seed * 101 + 11) % 512);

/** The training graph's logits (B, T, V) for `rows`, and (MoE students) the unweighted balance loss. */
export async function trainingForward(
  architecture: StudentArchitecture,
  weights: ReadonlyMap<string, Float32Array>,
  rows: number[][],
): Promise<{ logits: Float32Array; balance?: number }> {
  const g = new Graph('training_forward');
  const parameters = declareLlamaParameters(g, architecture);
  const inputIds = g.input('input_ids', 'int64', [rows.length, rows[0].length]);
  const { logits, routing } = llamaForward(g, architecture, parameters, { inputIds });
  g.output(logits as Value, 'logits');
  if (architecture.moe !== undefined) g.output(balanceLoss(g, routing, architecture.moe.experts), 'balance');
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
      rows.length,
      rows[0].length,
    ]),
  };
  for (const [name, shape] of studentWeightShapes(architecture))
    feeds[name] = new ort.Tensor('float32', weights.get(name) as Float32Array, shape);
  const outputs = await session.run(feeds);
  await session.release();
  return {
    logits: outputs.logits.data as Float32Array,
    balance: outputs.balance === undefined ? undefined : Number(outputs.balance.data[0]),
  };
}

/** Exports `weights` as a decomposer brick in a fresh temporary directory; returns the brick directory. */
export async function exportStudentBrick(
  architecture: StudentArchitecture,
  weights: ReadonlyMap<string, Float32Array>,
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'dnc-moe-'));
  const tokenizerDirectory = join(root, 'tokenizer');
  await makeTokenizer(tokenizerDirectory, architecture.vocabSize, architecture.maxPositionEmbeddings);
  const brick = join(root, 'brick');
  await exportBrick({
    architecture,
    weights: new Map(weights),
    tokenizerDirectory,
    role: 'decomposer',
    lineage: { dataHash: 'sha256:test', teacher: 'reference', training: { preset: 'nano-moe', steps: 0 } },
    metrics: { finalValLoss: null },
    outDirectory: brick,
  });
  return brick;
}
