/**
 * Shape-moving ops of the builder: Reshape, Transpose, Concat, Slice, Split, Gather, Expand,
 * Unsqueeze/Squeeze, Where, Cast, Shape, Trilu, OneHot and comparisons. Each infers its output shape.
 */
import { type DataType, onnxDataTypeCode } from './data-type.js';
import { GraphCore, type Value, int, ints } from './graph-core.js';
import {
  type Dimension,
  type Shape,
  broadcastShapes,
  formatShape,
  normalizeAxis,
  reshapeResult,
} from './shape.js';

export class ShapeOpsGraph extends GraphCore {
  /** Reshape to `target` (numbers, symbols such as 'B' or 'B*T', 0 = copy, -1 = inferred). */
  reshape(x: Value, target: Shape): Value {
    const shape = reshapeResult(x.shape, target);
    return this.addNode('Reshape', [x, this.shapeTensor(target)], [{ dataType: x.dataType, shape }])[0];
  }

  /** Reshape to the run-time shape of `like` (used by gradients; no symbols need resolving). */
  reshapeLike(x: Value, like: Value): Value {
    return this.addNode('Reshape', [x, this.shape(like)], [{ dataType: x.dataType, shape: like.shape }])[0];
  }

  transpose(x: Value, permutation: readonly number[]): Value {
    if (permutation.length !== x.shape.length) {
      throw new Error(
        `transpose: permutation [${permutation}] does not match rank of ${formatShape(x.shape)}`,
      );
    }
    const shape = permutation.map((axis) => x.shape[axis]);
    return this.addNode('Transpose', [x], [{ dataType: x.dataType, shape }], { perm: ints(permutation) })[0];
  }

  /** Swaps the last two axes. */
  transposeLastTwo(x: Value): Value {
    const rank = x.shape.length;
    const permutation = [...Array(rank).keys()];
    [permutation[rank - 2], permutation[rank - 1]] = [permutation[rank - 1], permutation[rank - 2]];
    return this.transpose(x, permutation);
  }

  concat(values: readonly Value[], axis: number): Value {
    const first = values[0];
    const normalized = normalizeAxis(axis, first.shape.length, 'concat');
    let total: Dimension = 0;
    for (const value of values) {
      const dimension = value.shape[normalized];
      if (typeof dimension !== 'number' || typeof total !== 'number') total = `${total}+${dimension}`;
      else total += dimension;
    }
    const shape = first.shape.map((dimension, index) => (index === normalized ? total : dimension));
    return this.addNode('Concat', values, [{ dataType: first.dataType, shape }], {
      axis: int(normalized),
    })[0];
  }

  /** Slice with step 1 along `axes` (ends clamp like ONNX; negative starts/ends count from the end). */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Value {
    const shape = [...x.shape];
    axes.forEach((axis, index) => {
      const normalized = normalizeAxis(axis, shape.length, 'slice');
      const size = shape[normalized];
      if (typeof size !== 'number') {
        shape[normalized] = `${size}[${starts[index]}:${ends[index]}]`;
        return;
      }
      const clamp = (position: number): number =>
        Math.min(Math.max(position < 0 ? position + size : position, 0), size);
      shape[normalized] = Math.max(clamp(ends[index]) - clamp(starts[index]), 0);
    });
    return this.addNode(
      'Slice',
      [x, this.int64s(starts), this.int64s(ends), this.int64s(axes)],
      [{ dataType: x.dataType, shape }],
    )[0];
  }

  split(x: Value, sizes: readonly number[], axis: number): Value[] {
    const normalized = normalizeAxis(axis, x.shape.length, 'split');
    const total = sizes.reduce((sum, size) => sum + size, 0);
    const dimension = x.shape[normalized];
    if (typeof dimension === 'number' && dimension !== total) {
      throw new Error(
        `split: sizes [${sizes}] sum to ${total} but axis ${axis} of ${formatShape(x.shape)} has ${dimension}`,
      );
    }
    const outputs = sizes.map((size) => ({
      dataType: x.dataType,
      shape: x.shape.map((existing, index) => (index === normalized ? size : existing)),
    }));
    return this.addNode('Split', [x, this.int64s(sizes)], outputs, { axis: int(normalized) });
  }

  /** Gather along `axis` (axis 0 on a (V, C) table with (B, T) indices gives (B, T, C)). */
  gather(data: Value, indices: Value, axis = 0): Value {
    const normalized = normalizeAxis(axis, data.shape.length, 'gather');
    const shape = [...data.shape.slice(0, normalized), ...indices.shape, ...data.shape.slice(normalized + 1)];
    return this.addNode('Gather', [data, indices], [{ dataType: data.dataType, shape }], {
      axis: int(normalized),
    })[0];
  }

  expand(x: Value, shape: Shape): Value {
    const result = broadcastShapes(x.shape, shape);
    return this.addNode('Expand', [x, this.shapeTensor(shape)], [{ dataType: x.dataType, shape: result }])[0];
  }

  unsqueeze(x: Value, axes: readonly number[]): Value {
    const rank = x.shape.length + axes.length;
    const normalized = axes.map((axis) => normalizeAxis(axis, rank, 'unsqueeze')).sort((a, b) => a - b);
    const shape: Dimension[] = [];
    let source = 0;
    for (let axis = 0; axis < rank; axis += 1) {
      shape.push(normalized.includes(axis) ? 1 : x.shape[source++]);
    }
    return this.addNode('Unsqueeze', [x, this.int64s(normalized)], [{ dataType: x.dataType, shape }])[0];
  }

  squeeze(x: Value, axes: readonly number[]): Value {
    const normalized = axes.map((axis) => normalizeAxis(axis, x.shape.length, 'squeeze'));
    for (const axis of normalized) {
      if (x.shape[axis] !== 1) throw new Error(`squeeze: axis ${axis} of ${formatShape(x.shape)} is not 1`);
    }
    const shape = x.shape.filter((_, axis) => !normalized.includes(axis));
    return this.addNode('Squeeze', [x, this.int64s(normalized)], [{ dataType: x.dataType, shape }])[0];
  }

  /** The run-time shape of `x` as a 1-D int64 tensor. */
  shape(x: Value): Value {
    return this.addNode('Shape', [x], [{ dataType: 'int64', shape: [x.shape.length] }])[0];
  }

  where(condition: Value, whenTrue: Value, whenFalse: Value): Value {
    const shape = broadcastShapes(broadcastShapes(condition.shape, whenTrue.shape), whenFalse.shape);
    return this.addNode(
      'Where',
      [condition, whenTrue, whenFalse],
      [{ dataType: whenTrue.dataType, shape }],
    )[0];
  }

  cast(x: Value, dataType: DataType): Value {
    return this.addNode('Cast', [x], [{ dataType, shape: x.shape }], {
      to: int(onnxDataTypeCode[dataType]),
    })[0];
  }

  identity(x: Value): Value {
    return this.addNode('Identity', [x], [{ dataType: x.dataType, shape: x.shape }])[0];
  }

  /** Zeros with the run-time shape of `like` (no large constant is stored in the model). */
  zerosLike(like: Value): Value {
    const shapeTensor = like.shape.every((dimension) => typeof dimension === 'number')
      ? this.int64s(like.shape as number[])
      : this.shape(like);
    const attribute = { kind: 'tensor' as const, dataType: like.dataType, shape: [1], data: [0] };
    return this.addNode('ConstantOfShape', [shapeTensor], [{ dataType: like.dataType, shape: like.shape }], {
      value: attribute,
    })[0];
  }

  /** Keeps the lower (or upper) triangle of the last two axes; `k` shifts the diagonal. */
  trilu(x: Value, upper: boolean, k = 0): Value {
    return this.addNode('Trilu', [x, this.scalar(k, 'int64')], [{ dataType: x.dataType, shape: x.shape }], {
      upper: int(upper ? 1 : 0),
    })[0];
  }

  /** One-hot rows: indices (...) → (..., depth) in `dataType`. */
  oneHot(indices: Value, depth: number, dataType: DataType = 'float32'): Value {
    const values = this.constant(dataType, [2], [0, 1]);
    return this.addNode(
      'OneHot',
      [indices, this.scalar(depth, 'int64'), values],
      [{ dataType, shape: [...indices.shape, depth] }],
      { axis: int(-1) },
    )[0];
  }

  private comparison(opType: string, left: Value, right: Value): Value {
    const shape = broadcastShapes(left.shape, right.shape);
    return this.addNode(opType, [left, right], [{ dataType: 'bool', shape }])[0];
  }

  equal(left: Value, right: Value): Value {
    return this.comparison('Equal', left, right);
  }

  less(left: Value, right: Value): Value {
    return this.comparison('Less', left, right);
  }

  greater(left: Value, right: Value): Value {
    return this.comparison('Greater', left, right);
  }

  greaterOrEqual(left: Value, right: Value): Value {
    return this.comparison('GreaterOrEqual', left, right);
  }
}
