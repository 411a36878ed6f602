/** Small building blocks shared by the gradient rules. */
import { type Value } from './graph-core.js';
import { type Graph } from './graph.js';
import { broadcastAxes, staticSize } from './shape.js';

/**
 * Sums a gradient over the axes its input was broadcast along, so it has the input's shape: leading
 * axes the input lacks are summed away, size-1 axes are summed with keepdims. Shapes are static at build
 * time (see shape.ts), so the axes are known without Shape ops.
 */
export function reduceToShape(graph: Graph, gradient: Value, input: Value): Value {
  const { leading, ones } = broadcastAxes(input.shape, gradient.shape);
  if (leading === 0 && ones.length === 0) return gradient;
  const leadingAxes = [...Array(leading).keys()];
  const reduced = graph.reduceSum(gradient, [...leadingAxes, ...ones], true);
  return leading > 0 ? graph.squeeze(reduced, leadingAxes) : reduced;
}

/** Broadcasts `x` to the (run-time) shape of `like`. */
export function expandLike(graph: Graph, x: Value, like: Value): Value {
  const shapeTensor =
    staticSize(like.shape) !== undefined ? graph.int64s(like.shape as number[]) : graph.shape(like);
  return graph.addNode('Expand', [x, shapeTensor], [{ dataType: x.dataType, shape: like.shape }])[0];
}

/** The number of elements of `x` over `axes`, as a scalar of `x`'s type (static when possible). */
export function countOverAxes(graph: Graph, x: Value, axes: readonly number[]): Value {
  const dimensions = axes.map((axis) => x.shape[axis]);
  const size = staticSize(dimensions);
  if (size !== undefined) return graph.scalar(size, x.dataType);
  const gathered = graph.gather(graph.shape(x), graph.int64s(axes), 0);
  const product = graph.addNode('ReduceProd', [gathered], [{ dataType: 'int64', shape: [] }], {
    keepdims: { kind: 'int', value: 0 },
  })[0];
  return graph.cast(product, x.dataType);
}

/** Inverse of a permutation. */
export function inversePermutation(permutation: readonly number[]): number[] {
  const inverse = new Array<number>(permutation.length);
  permutation.forEach((axis, index) => {
    inverse[axis] = index;
  });
  return inverse;
}
