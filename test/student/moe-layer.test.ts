import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Value } from '../../src/engine/graph-core.js';
import { OnnxDecoderModel } from '../../src/runtime/onnx/onnx-decoder.js';
import { countParameters, loadPreset } from '../../src/student/config.js';
import { studentStepFlops } from '../../src/train/student-model.js';
import { initializeWeights, studentWeightShapes } from '../../src/student/initialize.js';
import { expertWeightName, mixtureOfExpertsSchema, routerShapes } from '../../src/student/moe-config.js';
import { auxiliaryLoss, mixtureOfExperts } from '../../src/student/moe-layer.js';
import { checkGradients, type CheckedInput } from '../engine/gradient-check.js';
import {
  exportStudentBrick,
  mixture as moe,
  nanoArchitecture,
  tokens,
  trainingForward,
} from './moe-fixture.js';

function maxDifference(left: Float32Array, right: Float32Array): number {
  expect(left.length).toBe(right.length);
  let worst = 0;
  for (let index = 0; index < left.length; index += 1)
    worst = Math.max(worst, Math.abs(left[index] - right[index]));
  return worst;
}

describe('MoE gradient rules (central finite differences, float64)', () => {
  it('ReduceLogSumExp over the last axis, without and with kept dimensions', async () => {
    for (const keepDims of [false, true]) {
      const result = await checkGradients({
        inputs: [{ name: 'x', shape: [3, 5] }],
        build: (g, [x]) => g.reduceLogSumExp(x, [-1], keepDims),
      });
      expect(result.maxRelativeError).toBeLessThan(1e-6);
    }
  });

  it('ScatterND(add) in data and updates, with a repeated index', async () => {
    const result = await checkGradients({
      inputs: [
        { name: 'data', shape: [4, 3] },
        { name: 'updates', shape: [3, 3] },
      ],
      build: (g, [data, updates]) =>
        g.addNode(
          'ScatterND',
          [data, g.constant('int64', [3, 1], [2n, 0n, 2n]), updates],
          [{ dataType: data.dataType, shape: data.shape }],
          { reduction: { kind: 'string', value: 'add' } },
        )[0],
    });
    expect(result.maxRelativeError).toBeLessThan(1e-6);
  });

  it.each(['softmax', 'sigmoid', 'cosine'] as const)(
    'a routed layer (3 experts, top-2, %s router) with its balance and z losses, in x, router and every expert',
    async (router) => {
      const [rows, hidden, width, experts] = [6, 4, 3, 3];
      // The cosine router: a 2-dimensional projection, τ = 0.5 (its gradients in P and the embeddings).
      const cosine = router === 'cosine' ? { routerDimension: 2, routerTemperature: 0.5 } : {};
      const settings = moe(experts, 2, { balanceLoss: 0.5, zLoss: 0.25, router, ...cosine });
      const inputs: CheckedInput[] = [
        { name: 'x', shape: [rows, hidden] },
        ...routerShapes(settings, hidden, 0).map(([name, shape]) => ({ name, shape })),
      ];
      for (let expert = 0; expert < experts; expert += 1)
        inputs.push(
          { name: expertWeightName(0, expert, 'w1'), shape: [width, hidden] },
          { name: expertWeightName(0, expert, 'w2'), shape: [hidden, width] },
          { name: expertWeightName(0, expert, 'w3'), shape: [width, hidden] },
        );
      const result = await checkGradients({
        inputs,
        seed: 11,
        build: (g, values) => {
          const byName = new Map(inputs.map((input, index) => [input.name, values[index]]));
          const weight = (name: string): Value => byName.get(name) as Value;
          const context = { g, weight, moe: settings, intermediateSize: width };
          const { out, routing } = mixtureOfExperts(context, values[0], 0); // (N, C)
          const aux = auxiliaryLoss(g, settings, [routing]) as Value; // ()
          return g.add(out, aux); // (N, C): every output element carries the auxiliary loss
        },
      });
      expect(result.maxRelativeError).toBeLessThan(1e-6);
      // The router's gradient is not zero: the kept probabilities carry it (both cosine tensors too).
      for (const index of router === 'cosine' ? [1, 2] : [1])
        expect(result.analytic[index].some((value) => Math.abs(value) > 1e-4)).toBe(true);
    },
  );
});

describe('MoE student', () => {
  it('with 1 expert and top-1 gives the dense student its logits (w1 = gate_proj, w3 = up_proj, w2 = down_proj)', async () => {
    const dense = await nanoArchitecture();
    const single = await nanoArchitecture(moe(1, 1));
    const denseWeights = initializeWeights({ ...dense, initializerRange: 0.2 }, 5);
    const moeWeights = initializeWeights({ ...single, initializerRange: 0.2 }, 9);
    for (let layer = 0; layer < dense.numHiddenLayers; layer += 1) {
      const mlp = `model.layers.${layer}.mlp`;
      const copy = (from: string, to: string) =>
        moeWeights.set(to, denseWeights.get(`${mlp}.${from}.weight`) as Float32Array);
      copy('gate_proj', expertWeightName(layer, 0, 'w1'));
      copy('up_proj', expertWeightName(layer, 0, 'w3'));
      copy('down_proj', expertWeightName(layer, 0, 'w2'));
    }
    for (const [name, values] of denseWeights) if (!name.includes('.mlp.')) moeWeights.set(name, values);
    const rows = [tokens(10, 1), tokens(10, 2)];
    const expected = (await trainingForward(dense, denseWeights, rows)).logits;
    const actual = (await trainingForward(single, moeWeights, rows)).logits;
    expect(maxDifference(actual, expected)).toBe(0);
  });

  it('moe-nano has the active MLP FLOPs of nano (4 half-width experts, top-2), plus its routers', async () => {
    const dense = (await loadPreset('nano')).architecture;
    const moeNano = (await loadPreset('moe-nano')).architecture;
    const shape = { rows: 2, length: 16 };
    const routers = 3 * 2 * shape.rows * shape.length * 2 * dense.hiddenSize * 4; // 3 × forward, 2 layers, C × E
    expect(studentStepFlops(moeNano, shape)).toBe(studentStepFlops(dense, shape) + routers);
  });

  it('names its tensors as Hugging Face Mixtral and counts them', async () => {
    const architecture = await nanoArchitecture(moe(4, 2, { layers: [1] }));
    const shapes = studentWeightShapes(architecture);
    const { hiddenSize: C, intermediateSize: F } = architecture;
    expect(shapes.get('model.layers.0.mlp.gate_proj.weight')).toEqual([F, C]);
    expect(shapes.has('model.layers.1.mlp.gate_proj.weight')).toBe(false);
    expect(shapes.get('model.layers.1.block_sparse_moe.gate.weight')).toEqual([4, C]);
    expect(shapes.get('model.layers.1.block_sparse_moe.experts.3.w1.weight')).toEqual([F, C]);
    expect(shapes.get('model.layers.1.block_sparse_moe.experts.3.w2.weight')).toEqual([C, F]);
    expect(shapes.get('model.layers.1.block_sparse_moe.experts.3.w3.weight')).toEqual([F, C]);
    const total = [...shapes.values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
    expect(countParameters(architecture)).toBe(total);
  });

  it('the cosine router: D = max(2, ⌈E / 2⌉) fixed when read, its tensors (E, D) and (D, C) counted, its fields refused elsewhere', async () => {
    const parsed = mixtureOfExpertsSchema.parse({ experts: 5, topK: 2, router: 'cosine' });
    expect(parsed).toMatchObject({ routerDimension: 3, balanceLoss: 0.01 });
    expect(parsed.routerTemperature).toBeUndefined(); // τ defaults to 0.2 where it is used
    const refused = mixtureOfExpertsSchema.safeParse({ experts: 4, topK: 2, routerDimension: 8 });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0].message).toMatch(/belong to router "cosine"/);
    const architecture = await nanoArchitecture(moe(4, 2, { router: 'cosine', routerDimension: 3 }));
    const shapes = studentWeightShapes(architecture);
    const C = architecture.hiddenSize;
    expect(shapes.get('model.layers.0.block_sparse_moe.gate.weight')).toEqual([4, 3]);
    expect(shapes.get('model.layers.0.block_sparse_moe.gate.projection.weight')).toEqual([3, C]);
    const total = [...shapes.values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
    expect(countParameters(architecture)).toBe(total);
  });

  it.each(['softmax', 'sigmoid', 'cosine'] as const)(
    'exports a Mixtral-layout brick (%s router) whose cached decoder gives the training graph logits',
    async (router) => {
      const architecture = await nanoArchitecture(moe(4, 2, { router }));
      const weights = initializeWeights({ ...architecture, initializerRange: 0.2 }, 13);
      const brick = await exportStudentBrick(architecture, weights);
      const config = JSON.parse(await readFile(join(brick, 'config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(config).toMatchObject({
        model_type: 'mixtral',
        architectures: ['MixtralForCausalLM'],
        num_local_experts: 4,
        num_experts_per_tok: 2,
        router_aux_loss_coef: 0.01,
        intermediate_size: architecture.intermediateSize,
      });
      expect(config.dnc_router).toBe(router === 'softmax' ? undefined : router);
      if (router === 'cosine') {
        expect(config).toMatchObject({ dnc_router_dimension: 2, dnc_router_temperature: 0.2 });
        const safetensors = await readFile(join(brick, 'model.safetensors'));
        expect(safetensors.toString('latin1', 0, 4096)).toContain('block_sparse_moe.gate.projection.weight');
      }
      const row = tokens(9, 3);
      const expected = (await trainingForward(architecture, weights, [row])).logits;
      // Full outputs: every prefill position's logits are compared (the default fetches the last).
      const model = await OnnxDecoderModel.load(brick, { newPositionOutputs: false });
      const V = architecture.vocabSize;
      const mask = (length: number) => BigInt64Array.from({ length }, () => 1n);
      const positions = (from: number, to: number) =>
        BigInt64Array.from({ length: to - from }, (_, index) => BigInt(from + index));
      // Prefill 6 tokens, then 3 cached steps of one token each.
      const prefill = {
        inputIds: BigInt64Array.from(row.slice(0, 6).map(BigInt)),
        attentionMask: mask(6),
        positionIds: positions(0, 6),
        batchSize: 1,
        length: 6,
        pastLength: 0,
      };
      const first = await model.forward(prefill, undefined);
      expect(maxDifference(first.logits, expected.subarray(0, 6 * V))).toBeLessThan(1e-4);
      const newPositions = await OnnxDecoderModel.load(brick);
      expect(newPositions.fullOutputsReason).toBeUndefined();
      const last = await newPositions.forward(prefill, undefined);
      expect(maxDifference(last.logits, expected.subarray(5 * V, 6 * V))).toBeLessThan(1e-4);
      await newPositions.close();
      let cache = first.cache;
      for (let position = 6; position < row.length; position += 1) {
        const step = await model.forward(
          {
            inputIds: BigInt64Array.of(BigInt(row[position])),
            attentionMask: mask(position + 1),
            positionIds: positions(position, position + 1),
            batchSize: 1,
            length: 1,
            pastLength: position,
          },
          cache,
        );
        expect(maxDifference(step.logits, expected.subarray(position * V, (position + 1) * V))).toBeLessThan(
          1e-4,
        );
        cache = step.cache;
      }
      await model.close();
    },
  );
});
