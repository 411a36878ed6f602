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

export interface TrainableModel {
  readonly parameters: readonly ParameterSpec[];
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
  const loss = model.buildLoss(graph, declareParameters(graph, model, dataType));
  graph.output(loss, trainingOutputNames.loss);
  return graph;
}

export function buildStepGraph(
  model: TrainableModel,
  optimizer: AdamWOptions,
  dataType: DataType = 'float32',
): Graph {
  const graph = new Graph('train_step');
  const parameters = declareParameters(graph, model, dataType);
  const loss = model.buildLoss(graph, parameters);
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
  const graph = new Graph('accumulate_gradients');
  const parameters = declareParameters(graph, model, dataType);
  const loss = model.buildLoss(graph, parameters);
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
