/**
 * AdamW as graph nodes: global-norm gradient clipping, bias correction from a `step` input, decoupled
 * weight decay with a per-parameter opt-out, and the learning rate as an input (the schedule lives
 * outside the graph). The update reads parameters and moments as graph inputs and returns their next
 * values as outputs, so the caller keeps them as typed arrays between steps.
 */
import { type Value } from './graph-core.js';
import { type Graph } from './graph.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this value; undefined disables clipping. */
  maxGradientNorm?: number;
}

export const defaultAdamW = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 } as const;

export interface OptimizedParameter {
  name: string;
  value: Value;
  gradient: Value;
  /** False for norms and biases: no weight decay. */
  decay: boolean;
}

export interface AdamWUpdate {
  parameters: Value[];
  firstMoments: Value[];
  secondMoments: Value[];
  /** The global gradient norm before clipping (after `gradientScale`). */
  gradientNorm: Value;
}

/** Graph input names of the optimizer state, shared by the graphs and the trainer. */
export const optimizerNames = {
  learningRate: 'learning_rate',
  step: 'step',
  gradientScale: 'gradient_scale',
  firstMoment: (name: string): string => `adam_m.${name}`,
  secondMoment: (name: string): string => `adam_v.${name}`,
  next: (name: string): string => `next.${name}`,
};

/**
 * Appends the AdamW update. Declares inputs `learning_rate` and `step` (float scalars, step ≥ 1) and
 * the moment inputs; `gradientScale` (e.g. 1 / micro-batches) multiplies gradients before clipping.
 */
export function appendAdamW(
  graph: Graph,
  parameters: readonly OptimizedParameter[],
  options: AdamWOptions = {},
  gradientScale?: Value,
): AdamWUpdate {
  const { beta1, beta2, epsilon, weightDecay } = { ...defaultAdamW, ...options };
  const dataType = parameters[0].value.dataType;
  const learningRate = graph.input(optimizerNames.learningRate, dataType, []); // ()
  const step = graph.input(optimizerNames.step, dataType, []); // ()
  let gradients = parameters.map((parameter) => parameter.gradient);
  if (gradientScale !== undefined)
    gradients = gradients.map((gradient) => graph.mul(gradient, gradientScale));

  const squares = gradients.map((gradient) => graph.sumAll(graph.mul(gradient, gradient))); // ()
  const gradientNorm = graph.sqrt(graph.sum(squares)); // ()
  if (options.maxGradientNorm !== undefined) {
    // scale = maxNorm / max(norm, maxNorm) = min(1, maxNorm / norm)
    const clipScale = graph.div(options.maxGradientNorm, graph.max(gradientNorm, options.maxGradientNorm)); // ()
    gradients = gradients.map((gradient) => graph.mul(gradient, clipScale));
  }
  // Bias corrections 1 / (1 − β^t), folded into the step size and the second-moment scale.
  const firstCorrection = graph.reciprocal(graph.sub(1, graph.pow(graph.scalar(beta1, dataType), step))); // ()
  const secondCorrection = graph.reciprocal(graph.sub(1, graph.pow(graph.scalar(beta2, dataType), step))); // ()

  const update: AdamWUpdate = { parameters: [], firstMoments: [], secondMoments: [], gradientNorm };
  parameters.forEach((parameter, index) => {
    const shape = parameter.value.shape;
    const gradient = gradients[index];
    const m = graph.input(optimizerNames.firstMoment(parameter.name), dataType, shape);
    const v = graph.input(optimizerNames.secondMoment(parameter.name), dataType, shape);
    const nextM = graph.add(graph.mul(m, beta1), graph.mul(gradient, 1 - beta1));
    const nextV = graph.add(graph.mul(v, beta2), graph.mul(graph.mul(gradient, gradient), 1 - beta2));
    const denominator = graph.add(graph.sqrt(graph.mul(nextV, secondCorrection)), epsilon);
    let direction = graph.div(graph.mul(nextM, firstCorrection), denominator);
    if (parameter.decay && weightDecay > 0)
      direction = graph.add(direction, graph.mul(parameter.value, weightDecay));
    // p − lr · direction: with lr = 0 this is p − 0, bit-identical to p.
    update.parameters.push(graph.sub(parameter.value, graph.mul(learningRate, direction)));
    update.firstMoments.push(nextM);
    update.secondMoments.push(nextV);
  });
  return update;
}
