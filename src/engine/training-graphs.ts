/**
 * The graphs a training run needs, built from one model definition:
 *
 * - `step`: forward + backward + AdamW in ONE graph, for one micro-batch per update (no gradient ever
 *   leaves the runtime).
 * - `accumulate` + `update`, for gradient accumulation over several micro-batches: `accumulate` runs
 *   forward + backward and adds the gradients into accumulator inputs (returned as outputs, so the sum
 *   stays in native kernels and the trainer only swaps buffers); `update` applies AdamW to the summed
 *   gradients scaled by 1 / micro-batches. Two graphs keep each one simple and avoid feeding the
 *   optimizer state on every micro-batch.
 * - `loss`: the forward pass alone (evaluation; the same `buildLoss` without the backward).
 *
 * Frozen inputs (`TrainableModel.frozen`, e.g. a pretrained base under LoRA) are graph inputs like the
 * parameters and reach `buildLoss` in the same map, but no graph asks for their gradients (autodiff
 * differentiates only what lies on a path from a trainable parameter to the loss, so a frozen
 * weight's dW product is never built) and the optimizer never sees them: no moments, no update.
 * They are fed, not baked in as initializers: one Float32Array per weight serves every session
 * zero-copy, where initializers would be serialized into (and held by) each session's model.
 * Measured on a LoRA step at SmolLM2-135M's shape cut to 2 layers, batch 4 × 128, on the loaded
 * 2-core machine (/tmp script, two interleaved rounds of 5 steps): fed 1.9–3.0 s median, initializers
 * 1.8–2.1 s (onnxruntime may pre-pack constant weights; the difference is within the load's noise),
 * but peak RSS 720–731 MB fed against 1,181–1,189 MB with initializers (the 140 MB of weights held
 * about three more times), and a model over 2 GB cannot be an initializer-only protobuf at all.
 */
import { gradients } from './autodiff.js';
import { type DataType } from './data-type.js';
import { type Value } from './graph-core.js';
import { Graph } from './graph.js';
import { type AdamWOptions, appendAdamW, optimizerNames } from './optimizer.js';

export interface ParameterSpec {
  name: string;
  shape: readonly number[];
  /** Whether AdamW applies weight decay (false for norms and biases). */
  decay: boolean;
}

/** A graph input that the model reads but training never changes (fed every step, no gradient). */
export interface FrozenSpec {
  name: string;
  shape: readonly number[];
}

export interface TrainableModel {
  readonly parameters: readonly ParameterSpec[];
  /** Inputs read but never trained (default none); `buildLoss` receives them with the parameters. */
  readonly frozen?: readonly FrozenSpec[];
  /** Declares the batch inputs on `graph` and returns the scalar loss. */
  buildLoss(graph: Graph, parameters: ReadonlyMap<string, Value>): Value;
}

export const trainingOutputNames = {
  loss: 'loss',
  gradientNorm: 'gradient_norm',
  accumulated: (name: string): string => `accumulated.${name}`,
};

function declareParameters(graph: Graph, model: TrainableModel, dataType: DataType): Map<string, Value> {
  return new Map(model.parameters.map((spec) => [spec.name, graph.input(spec.name, dataType, spec.shape)]));
}

/** Parameters and frozen inputs together: what `buildLoss` reads. */
function declareInputs(
  graph: Graph,
  model: TrainableModel,
  dataType: DataType,
): { parameters: Map<string, Value>; all: Map<string, Value> } {
  const parameters = declareParameters(graph, model, dataType);
  const all = new Map(parameters);
  for (const spec of model.frozen ?? []) {
    if (all.has(spec.name)) throw new Error(`'${spec.name}' is declared both trainable and frozen`);
    all.set(spec.name, graph.input(spec.name, dataType, spec.shape));
  }
  return { parameters, all };
}

function outputUpdate(graph: Graph, model: TrainableModel, update: ReturnType<typeof appendAdamW>): void {
  model.parameters.forEach((spec, index) => {
    graph.output(update.parameters[index], optimizerNames.next(spec.name));
    graph.output(update.firstMoments[index], optimizerNames.next(optimizerNames.firstMoment(spec.name)));
    graph.output(update.secondMoments[index], optimizerNames.next(optimizerNames.secondMoment(spec.name)));
  });
  graph.output(update.gradientNorm, trainingOutputNames.gradientNorm);
}

export function buildLossGraph(model: TrainableModel, dataType: DataType = 'float32'): Graph {
  const graph = new Graph('loss');
  const loss = model.buildLoss(graph, declareInputs(graph, model, dataType).all);
  graph.output(loss, trainingOutputNames.loss);
  return graph;
}

export function buildStepGraph(
  model: TrainableModel,
  optimizer: AdamWOptions,
  dataType: DataType = 'float32',
): Graph {
  const graph = new Graph('train_step', true);
  const { parameters, all } = declareInputs(graph, model, dataType);
  const loss = model.buildLoss(graph, all);
  const values = [...parameters.values()];
  const grads = gradients(graph, loss, values);
  const optimized = model.parameters.map((spec, index) => ({
    name: spec.name,
    value: values[index],
    gradient: grads[index],
    decay: spec.decay,
  }));
  const update = appendAdamW(graph, optimized, optimizer);
  graph.output(loss, trainingOutputNames.loss);
  outputUpdate(graph, model, update);
  return graph;
}

export function buildAccumulateGraph(model: TrainableModel, dataType: DataType = 'float32'): Graph {
  const graph = new Graph('accumulate_gradients', true);
  const { parameters, all } = declareInputs(graph, model, dataType);
  const loss = model.buildLoss(graph, all);
  const values = [...parameters.values()];
  const grads = gradients(graph, loss, values);
  graph.output(loss, trainingOutputNames.loss);
  model.parameters.forEach((spec, index) => {
    const name = trainingOutputNames.accumulated(spec.name);
    const accumulator = graph.input(name, dataType, spec.shape);
    graph.output(graph.add(accumulator, grads[index]), optimizerNames.next(name));
  });
  return graph;
}

export function buildUpdateGraph(
  model: TrainableModel,
  optimizer: AdamWOptions,
  dataType: DataType = 'float32',
): Graph {
  const graph = new Graph('apply_update');
  const parameters = declareParameters(graph, model, dataType);
  const gradientScale = graph.input(optimizerNames.gradientScale, dataType, []);
  const optimized = model.parameters.map((spec) => ({
    name: spec.name,
    value: parameters.get(spec.name) as Value,
    gradient: graph.input(trainingOutputNames.accumulated(spec.name), dataType, spec.shape),
    decay: spec.decay,
  }));
  outputUpdate(graph, model, appendAdamW(graph, optimized, optimizer, gradientScale));
  return graph;
}
