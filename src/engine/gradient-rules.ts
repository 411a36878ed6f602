/**
 * The gradient rules: ONE table from op type to a function that, given the gradients of a node's
 * outputs, builds the gradient of each input (or null where the input takes none: indices, shapes,
 * conditions). Rules build their nodes with the ordinary builder ops, so every gradient is itself an
 * ONNX subgraph with inferred shapes. Gradients of broadcast inputs are reduced with `reduceToShape`.
 */
import { type Attribute, type Node, type Value } from './graph-core.js';
import { type Graph } from './graph.js';
import { countOverAxes, expandLike, inversePermutation, reduceToShape } from './gradient-helpers.js';
import { formatShape } from './shape.js';

export interface GradientContext {
  graph: Graph;
  node: Node;
  /** Inputs of the node (non-null: a rule is only asked about inputs that exist). */
  inputs: readonly Value[];
  /** Gradient of each output, null when no path from that output reaches the loss. */
  outputGradients: readonly (Value | null)[];
  /** Whether each input needs a gradient (depends on a parameter); rules may skip the others. */
  needsGradient: readonly boolean[];
}

export type GradientRule = (context: GradientContext) => (Value | null)[];

function intAttribute(node: Node, name: string, fallback: number): number {
  const attribute: Attribute | undefined = node.attributes[name];
  return attribute !== undefined && (attribute.kind === 'int' || attribute.kind === 'float')
    ? attribute.value
    : fallback;
}

/** The gradient of a single-output node (non-null: the walker only runs rules with some gradient). */
function only(context: GradientContext): Value {
  return context.outputGradients[0] as Value;
}

const output = (context: GradientContext): Value => context.node.outputs[0];

function matmulGradients({
  graph: g,
  inputs: [a, b],
  needsGradient,
  ...rest
}: GradientContext): (Value | null)[] {
  const dy = rest.outputGradients[0] as Value; // (..., M, N)
  let da: Value | null = null;
  let db: Value | null = null;
  const planar = a.shape.length === 2 && b.shape.length === 2;
  if (needsGradient[0]) {
    da = planar
      ? g.gemm(dy, b, null, { transposeB: true }) // (M, K)
      : reduceToShape(g, g.matmul(dy, g.transposeLastTwo(b)), a);
  }
  if (needsGradient[1]) {
    if (planar)
      db = g.gemm(a, dy, null, { transposeA: true }); // (K, N)
    else if (b.shape.length === 2) {
      // (B, T, K) × (K, N): fold the batch axes into rows so dB is one (K, rows) × (rows, N) product.
      const rowsA = g.reshape(a, [-1, a.shape[a.shape.length - 1]]); // (rows, K)
      const rowsDy = g.reshape(dy, [-1, dy.shape[dy.shape.length - 1]]); // (rows, N)
      db = g.gemm(rowsA, rowsDy, null, { transposeA: true }); // (K, N)
    } else db = reduceToShape(g, g.matmul(g.transposeLastTwo(a), dy), b);
  }
  return [da, db];
}

function gemmGradients(context: GradientContext): (Value | null)[] {
  const { graph: g, node, inputs, needsGradient } = context;
  const [a, b, c] = inputs;
  const dy = only(context); // (M, N)
  const transposeA = intAttribute(node, 'transA', 0) === 1;
  const transposeB = intAttribute(node, 'transB', 0) === 1;
  const alpha = intAttribute(node, 'alpha', 1);
  const beta = intAttribute(node, 'beta', 1);
  let da: Value | null = null;
  let db: Value | null = null;
  if (needsGradient[0]) {
    da = transposeA
      ? g.gemm(b, dy, null, { transposeA: transposeB, transposeB: true, alpha })
      : g.gemm(dy, b, null, { transposeB: !transposeB, alpha });
  }
  if (needsGradient[1]) {
    db = transposeB
      ? g.gemm(dy, a, null, { transposeA: true, transposeB: transposeA, alpha })
      : g.gemm(a, dy, null, { transposeA: !transposeA, alpha });
  }
  const dc =
    c !== undefined && needsGradient[2] ? reduceToShape(g, beta === 1 ? dy : g.mul(dy, beta), c) : null;
  return [da, db, dc];
}

function reduceGradient(context: GradientContext, mean: boolean): (Value | null)[] {
  const { graph: g, node, inputs } = context;
  const x = inputs[0];
  const axes = g.constantNumbers(inputs[1] ?? null).map((axis) => (axis < 0 ? axis + x.shape.length : axis));
  let dy = only(context);
  if (intAttribute(node, 'keepdims', 1) === 0) dy = g.unsqueeze(dy, axes);
  if (mean) dy = g.div(dy, countOverAxes(g, x, axes));
  return [expandLike(g, dy, x), null];
}

/** log Σ exp: dx = dy · exp(x − y), dy and y unsqueezed back over the reduced axes. */
function reduceLogSumExpGradient(context: GradientContext): (Value | null)[] {
  const { graph: g, node, inputs } = context;
  const x = inputs[0];
  const axes = g.constantNumbers(inputs[1] ?? null).map((axis) => (axis < 0 ? axis + x.shape.length : axis));
  let dy = only(context);
  let y = output(context);
  if (intAttribute(node, 'keepdims', 1) === 0) {
    dy = g.unsqueeze(dy, axes);
    y = g.unsqueeze(y, axes);
  }
  return [g.mul(dy, g.exp(g.sub(x, y))), null];
}

function slicePads(context: GradientContext): number[] {
  const { graph: g, inputs } = context;
  const x = inputs[0];
  const rank = x.shape.length;
  const [starts, ends, axes] = [1, 2, 3].map((index) => g.constantNumbers(inputs[index] ?? null));
  if (inputs[4] !== undefined && g.constantNumbers(inputs[4]).some((step) => step !== 1)) {
    throw new Error('no gradient rule for Slice with steps other than 1');
  }
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((axis, index) => {
    const normalized = axis < 0 ? axis + rank : axis;
    const size = x.shape[normalized];
    if (typeof size !== 'number') {
      throw new Error(`Slice gradient needs a static size on axis ${normalized} of ${formatShape(x.shape)}`);
    }
    const clamp = (position: number): number =>
      Math.min(Math.max(position < 0 ? position + size : position, 0), size);
    pads[normalized] = clamp(starts[index]);
    pads[normalized + rank] = size - clamp(ends[index]);
  });
  return pads;
}

function softmaxCrossEntropyGradient(context: GradientContext): (Value | null)[] {
  const { graph: g, inputs, node } = context;
  const [logits, targets] = inputs; // (N, V), (N)
  const [dLoss, dLogProbabilities] = context.outputGradients; // (N), (N, V)
  const logProbabilities = node.outputs[1];
  const probabilities = g.exp(logProbabilities); // (N, V)
  const depth = logits.shape[1];
  if (typeof depth !== 'number')
    throw new Error('SoftmaxCrossEntropyLoss gradient needs a static class count');
  const parts: Value[] = [];
  if (dLoss !== null) {
    // (softmax − onehot(target)) · dLoss, with the one-hot part scattered into its N entries.
    const rowGradient = g.unsqueeze(dLoss, [1]); // (N, 1)
    const [residual] = g.addNode(
      'ScatterElements',
      [g.mul(probabilities, rowGradient), g.unsqueeze(targets, [1]), g.neg(rowGradient)],
      [{ dataType: logits.dataType, shape: logits.shape }],
      { axis: { kind: 'int', value: 1 }, reduction: { kind: 'string', value: 'add' } },
    ); // (N, V)
    parts.push(residual);
  }
  if (dLogProbabilities !== null) {
    const total = g.reduceSum(dLogProbabilities, [1], true); // (N, 1)
    parts.push(g.sub(dLogProbabilities, g.mul(probabilities, total)));
  }
  return [g.sum(parts), null];
}

/** op type → gradient rule. Ops not listed here have no gradient; reaching one from a parameter throws. */
export const gradientRules: Readonly<Record<string, GradientRule>> = {
  Identity: (context) => [only(context)],
  Add: (context) => {
    const { graph: g, inputs } = context;
    return [reduceToShape(g, only(context), inputs[0]), reduceToShape(g, only(context), inputs[1])];
  },
  Sub: (context) => {
    const { graph: g, inputs } = context;
    return [reduceToShape(g, only(context), inputs[0]), reduceToShape(g, g.neg(only(context)), inputs[1])];
  },
  Mul: (context) => {
    const { graph: g, inputs, needsGradient } = context;
    const [a, b] = inputs;
    return [
      needsGradient[0] ? reduceToShape(g, g.mul(only(context), b), a) : null,
      needsGradient[1] ? reduceToShape(g, g.mul(only(context), a), b) : null,
    ];
  },
  Div: (context) => {
    const { graph: g, inputs, needsGradient } = context;
    const [a, b] = inputs;
    const dy = only(context);
    return [
      needsGradient[0] ? reduceToShape(g, g.div(dy, b), a) : null,
      needsGradient[1] ? reduceToShape(g, g.neg(g.div(g.mul(dy, output(context)), b)), b) : null,
    ];
  },
  Pow: (context) => {
    const { graph: g, inputs, needsGradient } = context;
    const [a, b] = inputs;
    const dy = only(context);
    return [
      needsGradient[0] ? reduceToShape(g, g.mul(dy, g.mul(b, g.pow(a, g.sub(b, 1)))), a) : null,
      needsGradient[1] ? reduceToShape(g, g.mul(dy, g.mul(output(context), g.log(a))), b) : null,
    ];
  },
  Max: (context) => {
    const { graph: g, inputs } = context;
    const [a, b] = inputs;
    const dy = only(context);
    const aWins = g.greaterOrEqual(a, b); // ties send the gradient to the first operand
    const zero = g.scalar(0, dy.dataType);
    return [reduceToShape(g, g.where(aWins, dy, zero), a), reduceToShape(g, g.where(aWins, zero, dy), b)];
  },
  Sum: (context) => context.inputs.map((input) => reduceToShape(context.graph, only(context), input)),
  Neg: (context) => [context.graph.neg(only(context))],
  Sqrt: (context) => [context.graph.div(context.graph.mul(only(context), 0.5), output(context))],
  Reciprocal: (context) => {
    const { graph: g } = context;
    const y = output(context);
    return [g.neg(g.mul(only(context), g.mul(y, y)))];
  },
  Exp: (context) => [context.graph.mul(only(context), output(context))],
  Log: (context) => [context.graph.div(only(context), context.inputs[0])],
  Sigmoid: (context) => {
    const { graph: g } = context;
    const y = output(context);
    return [g.mul(only(context), g.mul(y, g.sub(1, y)))];
  },
  Tanh: (context) => {
    const { graph: g } = context;
    const y = output(context);
    return [g.mul(only(context), g.sub(1, g.mul(y, y)))];
  },
  Relu: (context) => {
    const { graph: g, inputs } = context;
    const dy = only(context);
    return [g.where(g.greater(inputs[0], g.scalar(0, dy.dataType)), dy, g.scalar(0, dy.dataType))];
  },
  MatMul: matmulGradients,
  Gemm: gemmGradients,
  Softmax: (context) => {
    const { graph: g, node } = context;
    const axis = intAttribute(node, 'axis', -1);
    const y = output(context);
    const dy = only(context);
    return [g.mul(y, g.sub(dy, g.reduceSum(g.mul(dy, y), [axis], true)))];
  },
  LogSoftmax: (context) => {
    const { graph: g, node } = context;
    const axis = intAttribute(node, 'axis', -1);
    const dy = only(context);
    return [g.sub(dy, g.mul(g.exp(output(context)), g.reduceSum(dy, [axis], true)))];
  },
  ReduceSum: (context) => reduceGradient(context, false),
  ReduceMean: (context) => reduceGradient(context, true),
  ReduceLogSumExp: reduceLogSumExpGradient,
  Reshape: (context) => [context.graph.reshapeLike(only(context), context.inputs[0]), null],
  Transpose: (context) => {
    const attribute = context.node.attributes.perm;
    const permutation =
      attribute?.kind === 'ints' ? attribute.value : [...context.inputs[0].shape.keys()].reverse();
    return [context.graph.transpose(only(context), inversePermutation(permutation))];
  },
  Concat: (context) => {
    const { graph: g, node, inputs } = context;
    const axis = intAttribute(node, 'axis', 0);
    const sizes = inputs.map((input) => input.shape[axis]);
    if (!sizes.every((size): size is number => typeof size === 'number')) {
      throw new Error(`Concat gradient needs static sizes on axis ${axis}`);
    }
    return g.split(only(context), sizes, axis);
  },
  Split: (context) => {
    const { graph: g, node } = context;
    const pieces = context.outputGradients.map(
      (gradient, index) => gradient ?? g.zerosLike(node.outputs[index]),
    );
    return [g.concat(pieces, intAttribute(node, 'axis', 0)), null];
  },
  Slice: (context) => {
    const pads = slicePads(context);
    const dy = only(context);
    const [padded] = context.graph.addNode(
      'Pad',
      [dy, context.graph.int64s(pads)],
      [{ dataType: dy.dataType, shape: context.inputs[0].shape }],
    );
    return [padded, null, null, null, null];
  },
  Gather: (context) => {
    const { graph: g, node, inputs } = context;
    const [data, indices] = inputs;
    if (intAttribute(node, 'axis', 0) !== 0)
      throw new Error('no gradient rule for Gather on an axis other than 0');
    const [scattered] = g.addNode(
      'ScatterND',
      [g.zerosLike(data), g.unsqueeze(indices, [-1]), only(context)],
      [{ dataType: data.dataType, shape: data.shape }],
      { reduction: { kind: 'string', value: 'add' } },
    );
    return [scattered, null];
  },
  Where: (context) => {
    const { graph: g, inputs } = context;
    const [condition, a, b] = inputs;
    const dy = only(context);
    const zero = g.scalar(0, dy.dataType);
    return [
      null,
      reduceToShape(g, g.where(condition, dy, zero), a),
      reduceToShape(g, g.where(condition, zero, dy), b),
    ];
  },
  Expand: (context) => [reduceToShape(context.graph, only(context), context.inputs[0]), null],
  Unsqueeze: (context) => [context.graph.reshapeLike(only(context), context.inputs[0]), null],
  Squeeze: (context) => [context.graph.reshapeLike(only(context), context.inputs[0]), null],
  Cast: (context) => [context.graph.cast(only(context), context.inputs[0].dataType)],
  Trilu: (context) => {
    const dy = only(context);
    const [masked] = context.graph.addNode(
      'Trilu',
      [dy, context.node.inputs[1] ?? null],
      [{ dataType: dy.dataType, shape: dy.shape }],
      context.node.attributes,
    );
    return [masked, null];
  },
  SoftmaxCrossEntropyLoss: softmaxCrossEntropyGradient,
  Dropout: (context) => {
    // dx = dy · mask / (1 − ratio): the kept entries were scaled forward, the dropped ones get nothing.
    const { graph: g, node, inputs } = context;
    const dy = context.outputGradients[0];
    if (dy === null) return [null, null, null];
    const trainingMode = inputs[2] === undefined ? [0] : g.constantNumbers(inputs[2]);
    if (trainingMode[0] === 0) return [dy, null, null]; // inference mode: the identity
    const ratio = inputs[1] === undefined ? 0.5 : g.constantNumbers(inputs[1])[0];
    const kept = g.cast(node.outputs[1], dy.dataType); // mask as 0 / 1
    return [g.mul(dy, g.mul(kept, 1 / (1 - ratio))), null, null];
  },
  ScatterND: (context) => {
    // Only reduction 'add' (what the MoE combine uses): d data = dy, d updates = GatherND(dy, indices).
    const { graph: g, node, inputs, needsGradient } = context;
    const reduction = node.attributes.reduction;
    if (reduction?.kind !== 'string' || reduction.value !== 'add')
      throw new Error("no gradient rule for ScatterND without reduction 'add'");
    const [, indices, updates] = inputs;
    const dy = only(context);
    const gathered = needsGradient[2]
      ? g.addNode('GatherND', [dy, indices], [{ dataType: dy.dataType, shape: updates.shape }])[0]
      : null;
    return [needsGradient[0] ? dy : null, null, gathered];
  },
};
