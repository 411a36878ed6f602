/**
 * Static shapes for the graph builder. A dimension is a number, or a symbol such as 'B' or 'T' that is
 * known only when the graph runs; a product of symbols (and at most one number) is written 'B*T' or
 * '4*B'. Shapes are inferred when each node is added, so the backward pass knows at build time which
 * axes an input was broadcast over and can reduce its gradient with one ReduceSum (static shapes make
 * this simpler and cheaper than computing broadcast axes from Shape ops at run time).
 */
export type Dimension = number | string;
export type Shape = readonly Dimension[];

export function formatShape(shape: Shape): string {
  return `(${shape.join(', ')})`;
}

/** The number of elements, or undefined when a dimension is symbolic. */
export function staticSize(shape: Shape): number | undefined {
  let size = 1;
  for (const dimension of shape) {
    if (typeof dimension !== 'number') return undefined;
    size *= dimension;
  }
  return size;
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((dimension) => typeof dimension === 'number');
}

/** Splits a dimension into its numeric factor and its symbols ('4*B*T' → 4, ['B', 'T']). */
export function factorDimension(dimension: Dimension): { factor: number; symbols: string[] } {
  if (typeof dimension === 'number') return { factor: dimension, symbols: [] };
  let factor = 1;
  const symbols: string[] = [];
  for (const part of dimension.split('*')) {
    const trimmed = part.trim();
    if (/^\d+$/.test(trimmed)) factor *= Number(trimmed);
    else symbols.push(trimmed);
  }
  return { factor, symbols: symbols.sort() };
}

/** Builds a dimension from a numeric factor and symbols (inverse of `factorDimension`). */
export function composeDimension(factor: number, symbols: readonly string[]): Dimension {
  if (symbols.length === 0) return factor;
  const sorted = [...symbols].sort();
  return factor === 1 ? sorted.join('*') : [String(factor), ...sorted].join('*');
}

/** The product of dimensions, symbolic where needed. */
export function productOfDimensions(dimensions: Shape): Dimension {
  let factor = 1;
  const symbols: string[] = [];
  for (const dimension of dimensions) {
    const parts = factorDimension(dimension);
    factor *= parts.factor;
    symbols.push(...parts.symbols);
  }
  return composeDimension(factor, symbols);
}

export function sameDimension(left: Dimension, right: Dimension): boolean {
  if (typeof left === 'number' && typeof right === 'number') return left === right;
  const a = factorDimension(left);
  const b = factorDimension(right);
  return a.factor === b.factor && a.symbols.join('*') === b.symbols.join('*');
}

/** Numpy-style broadcasting of two shapes; a symbol against a number is taken to equal that number. */
export function broadcastShapes(left: Shape, right: Shape): Dimension[] {
  const rank = Math.max(left.length, right.length);
  const result: Dimension[] = [];
  for (let axis = 0; axis < rank; axis += 1) {
    const a = left[axis - (rank - left.length)] ?? 1;
    const b = right[axis - (rank - right.length)] ?? 1;
    if (a === 1) result.push(b);
    else if (b === 1 || sameDimension(a, b)) result.push(a);
    else if (typeof a === 'number' && typeof b === 'string') result.push(a);
    else if (typeof b === 'number' && typeof a === 'string') result.push(b);
    else {
      throw new Error(
        `cannot broadcast shapes ${formatShape(left)} and ${formatShape(right)} at axis ${axis}`,
      );
    }
  }
  return result;
}

/**
 * The axes of `outputShape` that `inputShape` was broadcast over: leading axes it lacks, and axes where
 * it has size 1 but the output does not.
 */
export function broadcastAxes(inputShape: Shape, outputShape: Shape): { leading: number; ones: number[] } {
  const leading = outputShape.length - inputShape.length;
  const ones: number[] = [];
  inputShape.forEach((dimension, index) => {
    const outputDimension = outputShape[index + leading];
    if (dimension === 1 && outputDimension !== 1) ones.push(index + leading);
  });
  return { leading, ones };
}

/** Normalizes a possibly negative axis against a rank, with a clear error when out of range. */
export function normalizeAxis(axis: number, rank: number, what: string): number {
  const normalized = axis < 0 ? axis + rank : axis;
  if (normalized < 0 || normalized >= rank) {
    throw new Error(`${what}: axis ${axis} is out of range for rank ${rank}`);
  }
  return normalized;
}

/**
 * The result shape of a Reshape to `target` (ONNX semantics: 0 copies the input dimension, -1 is
 * inferred). Symbolic inputs give symbolic results ('B*T').
 */
export function reshapeResult(input: Shape, target: Shape): Dimension[] {
  const resolved: Dimension[] = target.map((dimension, index) =>
    dimension === 0 ? input[index] : dimension,
  );
  const inferredIndex = resolved.indexOf(-1);
  if (inferredIndex === -1) return resolved;
  const total = factorDimension(productOfDimensions(input));
  const known = factorDimension(productOfDimensions(resolved.filter((_, index) => index !== inferredIndex)));
  const symbols = [...total.symbols];
  for (const symbol of known.symbols) {
    const at = symbols.indexOf(symbol);
    if (at === -1) throw new Error(`cannot reshape ${formatShape(input)} to ${formatShape(target)}`);
    symbols.splice(at, 1);
  }
  if (known.factor === 0 || total.factor % known.factor !== 0) {
    throw new Error(`cannot reshape ${formatShape(input)} to ${formatShape(target)}`);
  }
  resolved[inferredIndex] = composeDimension(total.factor / known.factor, symbols);
  return resolved;
}
