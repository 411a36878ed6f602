/**
 * The graph builder's math ops: elementwise arithmetic, MatMul/Gemm, reductions, Softmax/LogSoftmax
 * and the cross-entropy loss. Every op infers its output shape at build time; numbers passed where a
 * value is expected become scalar constants of the other operand's type (`g.mul(x, 0.5)`).
 */
import { type Value, float, int } from './graph-core.js';
import { ShapeOpsGraph } from './graph-shape-ops.js';
import {
  type Dimension,
  type Shape,
  broadcastShapes,
  formatShape,
  normalizeAxis,
  sameDimension,
} from './shape.js';

export type Operand = Value | number;

export interface GemmOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  alpha?: number;
  beta?: number;
}

export class Graph extends ShapeOpsGraph {
  private operands(left: Operand, right: Operand): [Value, Value] {
    if (typeof left === 'number' && typeof right === 'number')
      throw new Error('two numbers: nothing to build');
    const dataType = typeof left === 'number' ? (right as Value).dataType : left.dataType;
    return [
      typeof left === 'number' ? this.scalar(left, dataType) : left,
      typeof right === 'number' ? this.scalar(right, dataType) : right,
    ];
  }

  private binary(opType: string, left: Operand, right: Operand): Value {
    const [a, b] = this.operands(left, right);
    if (a.dataType !== b.dataType) {
      throw new Error(`${opType}: operand types differ (${a.name}: ${a.dataType}, ${b.name}: ${b.dataType})`);
    }
    const shape = broadcastShapes(a.shape, b.shape);
    return this.addNode(opType, [a, b], [{ dataType: a.dataType, shape }])[0];
  }

  private unary(opType: string, x: Value): Value {
    return this.addNode(opType, [x], [{ dataType: x.dataType, shape: x.shape }])[0];
  }

  add(left: Operand, right: Operand): Value {
    return this.binary('Add', left, right);
  }
  sub(left: Operand, right: Operand): Value {
    return this.binary('Sub', left, right);
  }
  mul(left: Operand, right: Operand): Value {
    return this.binary('Mul', left, right);
  }
  div(left: Operand, right: Operand): Value {
    return this.binary('Div', left, right);
  }
  pow(base: Operand, exponent: Operand): Value {
    return this.binary('Pow', base, exponent);
  }
  /** Elementwise maximum of two values. */
  max(left: Operand, right: Operand): Value {
    return this.binary('Max', left, right);
  }
  neg(x: Value): Value {
    return this.unary('Neg', x);
  }
  sqrt(x: Value): Value {
    return this.unary('Sqrt', x);
  }
  reciprocal(x: Value): Value {
    return this.unary('Reciprocal', x);
  }
  exp(x: Value): Value {
    return this.unary('Exp', x);
  }
  log(x: Value): Value {
    return this.unary('Log', x);
  }
  sigmoid(x: Value): Value {
    return this.unary('Sigmoid', x);
  }
  tanh(x: Value): Value {
    return this.unary('Tanh', x);
  }
  relu(x: Value): Value {
    return this.unary('Relu', x);
  }

  /** Elementwise sum of any number of values (broadcasting). */
  sum(values: readonly Value[]): Value {
    if (values.length === 1) return values[0];
    const shape = values.reduce<Shape>((accumulated, value) => broadcastShapes(accumulated, value.shape), []);
    return this.addNode('Sum', values, [{ dataType: values[0].dataType, shape }])[0];
  }

  /** Matrix product over the last two axes, batch axes broadcast: (..., M, K) × (..., K, N) → (..., M, N). */
  matmul(a: Value, b: Value): Value {
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new Error(
        `matmul needs rank ≥ 2 operands, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
      );
    }
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (!sameDimension(k, k2) && typeof k === 'number' && typeof k2 === 'number') {
      throw new Error(`matmul: inner dimensions differ in ${formatShape(a.shape)} × ${formatShape(b.shape)}`);
    }
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return this.addNode('MatMul', [a, b], [{ dataType: a.dataType, shape: [...batch, m, n] }])[0];
  }

  /** alpha · op(A) · op(B) + beta · C for 2-D A and B (C broadcast). */
  gemm(a: Value, b: Value, c: Value | null, options: GemmOptions = {}): Value {
    const { transposeA = false, transposeB = false, alpha = 1, beta = 1 } = options;
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new Error(`gemm needs 2-D operands, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    const m = transposeA ? a.shape[1] : a.shape[0];
    const n = transposeB ? b.shape[0] : b.shape[1];
    return this.addNode('Gemm', c === null ? [a, b] : [a, b, c], [{ dataType: a.dataType, shape: [m, n] }], {
      transA: int(transposeA ? 1 : 0),
      transB: int(transposeB ? 1 : 0),
      alpha: float(alpha),
      beta: float(beta),
    })[0];
  }

  softmax(x: Value, axis = -1): Value {
    const normalized = normalizeAxis(axis, x.shape.length, 'softmax');
    return this.addNode('Softmax', [x], [{ dataType: x.dataType, shape: x.shape }], {
      axis: int(normalized),
    })[0];
  }

  logSoftmax(x: Value, axis = -1): Value {
    const normalized = normalizeAxis(axis, x.shape.length, 'logSoftmax');
    return this.addNode('LogSoftmax', [x], [{ dataType: x.dataType, shape: x.shape }], {
      axis: int(normalized),
    })[0];
  }

  private reduce(opType: string, x: Value, axes: readonly number[], keepDims: boolean): Value {
    const normalized = axes.map((axis) => normalizeAxis(axis, x.shape.length, opType)).sort((a, b) => a - b);
    const shape: Dimension[] = [];
    x.shape.forEach((dimension, axis) => {
      if (!normalized.includes(axis)) shape.push(dimension);
      else if (keepDims) shape.push(1);
    });
    return this.addNode(opType, [x, this.int64s(normalized)], [{ dataType: x.dataType, shape }], {
      keepdims: int(keepDims ? 1 : 0),
    })[0];
  }

  /** Sum over `axes` (all axes when empty is not allowed: name them). */
  reduceSum(x: Value, axes: readonly number[], keepDims = false): Value {
    return this.reduce('ReduceSum', x, axes, keepDims);
  }

  reduceMean(x: Value, axes: readonly number[], keepDims = false): Value {
    return this.reduce('ReduceMean', x, axes, keepDims);
  }

  /** log Σ exp(x) over `axes` (router z-loss); its gradient is dy · exp(x − y). */
  reduceLogSumExp(x: Value, axes: readonly number[], keepDims = false): Value {
    return this.reduce('ReduceLogSumExp', x, axes, keepDims);
  }

  /**
   * The k largest entries along the last axis: values (…, k) and int64 indices (…, k), largest first.
   * Only `indices` may be used on a path to a loss: TopK has no gradient rule, and integer
   * indices are constant to autodiff (src/engine/autodiff.ts follows floating values only).
   */
  topK(x: Value, k: number): { values: Value; indices: Value } {
    const leading = x.shape.slice(0, -1);
    const [values, indices] = this.addNode(
      'TopK',
      [x, this.int64s([k])],
      [
        { dataType: x.dataType, shape: [...leading, k] },
        { dataType: 'int64', shape: [...leading, k] },
      ],
      { axis: int(-1), largest: int(1), sorted: int(1) },
    );
    return { values, indices };
  }

  /**
   * ONNX Dropout (opset 13) in training mode: output = x · mask / (1 − ratio) with mask ~ Bernoulli(1 −
   * ratio), and the bool mask as a second output (the gradient rule reads it). `seed` fixes the node's
   * generator: onnxruntime seeds it once per session, so the masks are one reproducible sequence per
   * session, step after step. Ratio 0 is the identity (every mask entry true).
   */
  dropout(x: Value, ratio: number, seed: number): { output: Value; mask: Value } {
    if (!(ratio >= 0 && ratio < 1)) throw new Error(`dropout ratio must be in [0, 1), got ${ratio}`);
    const [output, mask] = this.addNode(
      'Dropout',
      [x, this.scalar(ratio, x.dataType), this.constant('bool', [], [1])],
      [
        { dataType: x.dataType, shape: x.shape },
        { dataType: 'bool', shape: x.shape },
      ],
      { seed: int(seed) },
    );
    return { output, mask };
  }

  /** Sum of every element, as a scalar. */
  sumAll(x: Value): Value {
    return this.reduceSum(
      x,
      x.shape.map((_, axis) => axis),
      false,
    );
  }

  /**
   * Per-row softmax cross-entropy: logits (N, V), targets int64 (N) → loss (N) and log-probabilities
   * (N, V). One fused ONNX node forward; its gradient rule reuses the log-probabilities.
   */
  softmaxCrossEntropy(logits: Value, targets: Value): { loss: Value; logProbabilities: Value } {
    if (logits.shape.length !== 2 || targets.shape.length !== 1 || targets.dataType !== 'int64') {
      throw new Error(
        `softmaxCrossEntropy needs logits (N, V) and int64 targets (N), got ${formatShape(logits.shape)} and ${targets.dataType} ${formatShape(targets.shape)}`,
      );
    }
    const [loss, logProbabilities] = this.addNode(
      'SoftmaxCrossEntropyLoss',
      [logits, targets],
      [
        { dataType: logits.dataType, shape: [logits.shape[0]] },
        { dataType: logits.dataType, shape: logits.shape },
      ],
      { reduction: { kind: 'string', value: 'none' } },
    );
    return { loss, logProbabilities };
  }

  /**
   * Mean cross-entropy over the rows where `mask` (N, float) is 1: Σ loss·mask / max(Σ mask, 1).
   * Masked rows still need a valid target id (0 is fine).
   */
  maskedCrossEntropy(logits: Value, targets: Value, mask: Value): Value {
    const { loss } = this.softmaxCrossEntropy(logits, targets); // (N)
    const total = this.sumAll(this.mul(loss, mask)); // ()
    const count = this.max(this.sumAll(mask), 1); // ()
    return this.div(total, count);
  }
}
