/**
 * The core of the graph builder: typed values with static (possibly symbolic) shapes, nodes, graph
 * inputs and outputs, initializers and constants. Op methods live in the subclasses (graph-shape-ops.ts,
 * graph.ts); the backward pass (autodiff.ts) appends nodes with the same methods.
 */
import { type DataType, type TensorData } from './data-type.js';
import { type Dimension, type Shape, factorDimension, formatShape, staticSize } from './shape.js';

export interface Value {
  readonly name: string;
  readonly dataType: DataType;
  readonly shape: Shape;
  /** The node that computes this value; undefined for graph inputs, initializers and constants. */
  readonly producer: Node | undefined;
}

export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; dataType: DataType; shape: readonly number[]; data: ArrayLike<number | bigint> };

export const int = (value: number): Attribute => ({ kind: 'int', value });
export const float = (value: number): Attribute => ({ kind: 'float', value });
export const ints = (value: readonly number[]): Attribute => ({ kind: 'ints', value });
export const string = (value: string): Attribute => ({ kind: 'string', value });

export interface Node {
  readonly opType: string;
  readonly domain: string;
  /** Inputs in ONNX order; null marks an omitted optional input. */
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly attributes: Readonly<Record<string, Attribute>>;
}

export interface Initializer {
  readonly value: Value;
  readonly data: TensorData | ArrayLike<number | bigint>;
}

export interface OutputSpec {
  dataType: DataType;
  shape: Shape;
}

export class GraphCore {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers: Initializer[] = [];
  private readonly names = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly dimensionSources = new Map<string, { value: Value; axis: number }>();
  private readonly dimensionTensors = new Map<string, Value>();
  private readonly scalarConstants = new Map<string, Value>();

  /**
   * `training`: the graph runs a training step (dropout on); loss-only graphs (validation) and
   * inference graphs leave it false, so a model's `buildLoss` builds the same forward with dropout off.
   */
  constructor(
    readonly name = 'dnc',
    readonly training = false,
  ) {}

  /** A fresh value name with a readable prefix (`matmul_3`). */
  protected freshName(prefix: string): string {
    const base = prefix.replace(/[^A-Za-z0-9_.]/g, '_');
    let count = this.counters.get(base) ?? 0;
    let candidate = `${base}_${count}`;
    while (this.names.has(candidate)) {
      count += 1;
      candidate = `${base}_${count}`;
    }
    this.counters.set(base, count + 1);
    return candidate;
  }

  private claimName(name: string): void {
    if (this.names.has(name)) throw new Error(`value name '${name}' is already used in graph '${this.name}'`);
    this.names.add(name);
  }

  /** Declares a graph input; symbolic dimensions ('B', 'T') become resolvable for reshapes. */
  input(name: string, dataType: DataType, shape: Shape): Value {
    this.claimName(name);
    const value: Value = { name, dataType, shape: [...shape], producer: undefined };
    this.inputs.push(value);
    shape.forEach((dimension, axis) => {
      if (
        typeof dimension === 'string' &&
        !dimension.includes('*') &&
        !this.dimensionSources.has(dimension)
      ) {
        this.dimensionSources.set(dimension, { value, axis });
      }
    });
    return value;
  }

  /** A named tensor stored in the model file (weights that are not fed). */
  initializer(name: string, dataType: DataType, shape: readonly number[], data: Initializer['data']): Value {
    const size = staticSize(shape) ?? 0;
    if (data.length !== size) {
      throw new Error(
        `initializer '${name}' has ${data.length} values but shape ${formatShape(shape)} needs ${size}`,
      );
    }
    this.claimName(name);
    const value: Value = { name, dataType, shape: [...shape], producer: undefined };
    this.initializers.push({ value, data });
    return value;
  }

  /** An anonymous constant tensor (stored as an initializer). */
  constant(dataType: DataType, shape: readonly number[], data: Initializer['data']): Value {
    return this.initializer(this.freshName('const'), dataType, shape, data);
  }

  /** A rank-0 constant, shared between uses. */
  scalar(value: number, dataType: DataType = 'float32'): Value {
    const key = `${dataType}:${Object.is(value, -0) ? '-0' : String(value)}`;
    let constant = this.scalarConstants.get(key);
    if (constant === undefined) {
      constant = this.constant(dataType, [], [dataType === 'int64' ? BigInt(value) : value]);
      this.scalarConstants.set(key, constant);
    }
    return constant;
  }

  /** A 1-D int64 constant (axes, shapes, starts). */
  int64s(values: readonly number[]): Value {
    return this.constant(
      'int64',
      [values.length],
      values.map((value) => BigInt(value)),
    );
  }

  /**
   * Marks a value as a graph output under `name`. A computed value that is not yet an output is renamed
   * in place (nodes refer to values, not names), which avoids an Identity copy per output; graph inputs,
   * constants and values already output under another name get an Identity node.
   */
  output(value: Value, name: string = value.name): Value {
    let result = value;
    const renameable = value.producer !== undefined && !this.outputs.includes(value);
    if (name !== value.name && renameable && !this.names.has(name)) {
      this.names.delete(value.name);
      this.names.add(name);
      (value as { name: string }).name = name;
    } else if (name !== value.name || value.producer === undefined) {
      [result] = this.addNode(
        'Identity',
        [value],
        [{ dataType: value.dataType, shape: value.shape }],
        {},
        name,
      );
    }
    this.outputs.push(result);
    return result;
  }

  /** Appends a node and returns its outputs; `outputName` names the first output. */
  addNode(
    opType: string,
    inputs: readonly (Value | null)[],
    outputs: readonly OutputSpec[],
    attributes: Record<string, Attribute> = {},
    outputName?: string,
    domain = '',
  ): Value[] {
    const outputValues: Value[] = [];
    const node: Node = { opType, domain, inputs: [...inputs], outputs: outputValues, attributes };
    outputs.forEach((spec, index) => {
      const name =
        index === 0 && outputName !== undefined ? outputName : this.freshName(opType.toLowerCase());
      this.claimName(name);
      outputValues.push({ name, dataType: spec.dataType, shape: [...spec.shape], producer: node });
    });
    this.nodes.push(node);
    return outputValues;
  }

  /** The numbers stored in a constant/initializer value (for gradient rules reading axes, perms...). */
  constantNumbers(value: Value | null): number[] {
    const found = value === null ? undefined : this.initializers.find((entry) => entry.value === value);
    if (found === undefined) throw new Error(`value '${value?.name}' is not a constant known to the builder`);
    return Array.from(found.data as ArrayLike<number | bigint>, (item) => Number(item));
  }

  /** A 1-D int64 tensor holding one dimension's value at run time (symbols read from input shapes). */
  dimensionTensor(dimension: Dimension): Value {
    const key = String(dimension);
    const cached = this.dimensionTensors.get(key);
    if (cached !== undefined) return cached;
    const { factor, symbols } = factorDimension(dimension);
    let result: Value | undefined = factor === 1 && symbols.length > 0 ? undefined : this.int64s([factor]);
    for (const symbol of symbols) {
      const source = this.dimensionSources.get(symbol);
      if (source === undefined) {
        throw new Error(
          `dimension '${symbol}' is not the dimension of any graph input; declare an input with it`,
        );
      }
      const [piece] = this.addNode('Shape', [source.value], [{ dataType: 'int64', shape: [1] }], {
        start: int(source.axis),
        end: int(source.axis + 1),
      });
      result =
        result === undefined
          ? piece
          : this.addNode('Mul', [result, piece], [{ dataType: 'int64', shape: [1] }])[0];
    }
    this.dimensionTensors.set(key, result as Value);
    return result as Value;
  }

  /** A 1-D int64 tensor for a whole shape, constant when static. */
  shapeTensor(shape: Shape): Value {
    if (shape.every((dimension) => typeof dimension === 'number')) return this.int64s(shape as number[]);
    const pieces = shape.map((dimension) => this.dimensionTensor(dimension));
    return this.addNode('Concat', pieces, [{ dataType: 'int64', shape: [shape.length] }], {
      axis: int(0),
    })[0];
  }
}
