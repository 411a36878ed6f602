/**
 * Central finite-difference check of the engine's gradients: builds loss = Σ(y ⊙ R) for a random fixed
 * R (so every output element matters differently), asks `gradients` for d loss / d inputs, and compares
 * each element against (loss(x + h) − loss(x − h)) / 2h computed by the same onnxruntime session.
 */
import { gradients } from '../../src/engine/autodiff.js';
import { type Value } from '../../src/engine/graph-core.js';
import { Graph } from '../../src/engine/graph.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { EngineSession, type Feeds, tensor } from '../../src/engine/session.js';
import { staticSize } from '../../src/engine/shape.js';

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CheckedInput {
  name: string;
  shape: readonly number[];
  /** 'positive' draws from [0.5, 2) (for Log, Sqrt, Pow bases, divisors); default draws from [-1, 1). */
  domain?: 'positive' | 'signed';
}

export interface GradientCheckOptions {
  inputs: readonly CheckedInput[];
  build: (graph: Graph, inputs: Value[]) => Value;
  dataType?: 'float64' | 'float32';
  /** Extra non-differentiated feeds (indices, masks, conditions) declared by `build`. */
  extraFeeds?: Feeds;
  seed?: number;
}

export interface GradientCheckResult {
  maxAbsoluteError: number;
  maxRelativeError: number;
  analytic: Float64Array[];
  numeric: Float64Array[];
}

export async function checkGradients(options: GradientCheckOptions): Promise<GradientCheckResult> {
  const dataType = options.dataType ?? 'float64';
  const random = seededRandom(options.seed ?? 7);
  const graph = new Graph('gradient_check');
  const inputs = options.inputs.map((input) => graph.input(input.name, dataType, input.shape));
  const y = options.build(graph, inputs);
  const size = staticSize(y.shape);
  if (size === undefined) throw new Error('gradient checks need a static output shape');
  const weights = Array.from({ length: size }, () => random() * 2 - 1);
  const loss = graph.sumAll(graph.mul(y, graph.constant(dataType, y.shape as number[], weights)));
  const grads = gradients(graph, loss, inputs);
  graph.output(loss, 'loss');
  grads.forEach((gradient, index) => graph.output(gradient, `gradient_${index}`));
  const session = await EngineSession.create(serializeGraph(graph), { graphOptimizationLevel: 'disabled' });

  const values = options.inputs.map((input) => {
    const count = staticSize(input.shape) as number;
    const drawn = Array.from({ length: count }, () =>
      input.domain === 'positive' ? 0.5 + random() * 1.5 : random() * 2 - 1,
    );
    return dataType === 'float64' ? Float64Array.from(drawn) : Float32Array.from(drawn);
  });
  const feeds = (): Feeds => {
    const result: Feeds = { ...options.extraFeeds };
    options.inputs.forEach((input, index) => {
      result[input.name] = tensor(dataType, values[index], input.shape);
    });
    return result;
  };
  const outputs = await session.run(feeds());
  const analytic = grads.map((_, index) =>
    Float64Array.from(outputs[`gradient_${index}`].data as Float64Array),
  );
  const step = dataType === 'float64' ? 1e-6 : 1e-2;
  const lossAt = async (): Promise<number> => Number((await session.run(feeds(), ['loss'])).loss.data[0]);
  const numeric: Float64Array[] = [];
  let maxAbsoluteError = 0;
  let maxRelativeError = 0;
  for (let index = 0; index < values.length; index += 1) {
    const estimate = new Float64Array(values[index].length);
    for (let element = 0; element < values[index].length; element += 1) {
      const original = values[index][element];
      values[index][element] = original + step;
      const plus = await lossAt();
      values[index][element] = original - step;
      const minus = await lossAt();
      values[index][element] = original;
      estimate[element] = (plus - minus) / (2 * step);
      const error = Math.abs(estimate[element] - analytic[index][element]);
      maxAbsoluteError = Math.max(maxAbsoluteError, error);
      maxRelativeError = Math.max(maxRelativeError, error / Math.max(1, Math.abs(estimate[element])));
    }
    numeric.push(estimate);
  }
  await session.release();
  return { maxAbsoluteError, maxRelativeError, analytic, numeric };
}
