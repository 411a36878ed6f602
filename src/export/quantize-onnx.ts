/**
 * A post-pass over an exported ONNX decoder (ModelProto bytes): every Gemm or MatMul whose weight is
 * a float32 initializer named `….weight` (a Linear layer's) becomes a quantized onnxruntime contrib kernel (com.microsoft):
 *
 * - `int8`: DynamicQuantizeMatMul (the default: per-column int8 weights, activations quantized per
 *   tensor at run time) or MatMulNBits with bits = 8 (weights in blocks along K, activations
 *   quantized per block with accuracy_level 4). At SmolLM2-135M's shape, batch 1, on this 2-core
 *   AVX-512 VNNI machine (shared), DynamicQuantizeMatMul ran 1.46× and 2.26× float32 in two
 *   `dnc bench decode` runs against 1.02× and 2.03× for MatMulNBits (docs/performance.md);
 * - `int4`: MatMulNBits with bits = 4, blocks of `blockSize` input values (default 32).
 *
 * A Gemm's alpha folds into the weight scales and beta·C becomes the bias, so the result is the same
 * function up to rounding. The tied embedding's Gather keeps the float32 table: the token lookup
 * reads one row per token (nothing to gain from int8 arithmetic there) and the head's Gemm gets its own
 * quantized copy of the same matrix. Initializers no node reads any more are dropped, so the file
 * shrinks. Works on the decoded protobuf (src/engine/onnx-schema.ts), never on dnc's builder graph, so
 * any ONNX decoder dnc wrote can be quantized.
 */
import { AttributeType, modelProtoType } from '../engine/onnx-schema.js';
import { quantizeBlocks, quantizeColumnsInt8 } from './quantize-weights.js';

export type QuantizeMode = 'int8' | 'int4';
export type Int8Kernel = 'matmul-nbits' | 'dynamic-quantize-matmul';

export interface QuantizeOptions {
  mode: QuantizeMode;
  /** Input values sharing a scale in MatMulNBits (a power of two ≥ 16; default 32). */
  blockSize?: number;
  /** The int8 kernel (default `dynamic-quantize-matmul`, the faster in bench/decode.ts). */
  int8Kernel?: Int8Kernel;
  /** MatMulNBits' accuracy_level: 4 computes with int8 activations (VNNI), 0 in float32 (default 4). */
  accuracyLevel?: 0 | 1 | 2 | 3 | 4;
}

/** What the pass did; recorded in brick.json under `quantization`. */
export interface QuantizationRecord {
  mode: QuantizeMode;
  kernel: 'MatMulNBits' | 'DynamicQuantizeMatMul';
  bits: 4 | 8;
  /** Present for MatMulNBits. */
  blockSize?: number;
  accuracyLevel?: number;
  /** Matrices replaced (every projection and the head). */
  matrices: number;
  /** Weights now stored quantized. */
  quantizedParameters: number;
}

const dataTypes = { float: 1, uint8: 2, int8: 3 } as const;
const microsoft = 'com.microsoft';

interface TensorObject {
  name: string;
  dataType: number;
  dims: number[];
  rawData?: Uint8Array;
  floatData?: number[];
  dataLocation?: number;
}

interface AttributeObject {
  name: string;
  type: number;
  i?: number;
  f?: number;
}

interface NodeObject {
  name?: string;
  opType: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: AttributeObject[];
}

interface ModelObject {
  graph: { node: NodeObject[]; initializer: TensorObject[]; output?: { name: string }[] };
}

function floats(tensor: TensorObject): Float32Array {
  if (tensor.dataLocation === 1)
    throw new Error(
      `initializer '${tensor.name}' lives in an external data file; quantize a model whose weights are inside model.onnx`,
    );
  if (tensor.rawData !== undefined && tensor.rawData.byteLength > 0) {
    const copy = new Uint8Array(tensor.rawData); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

function rawTensor(name: string, dataType: number, dims: number[], data: ArrayBufferView): TensorObject {
  return { name, dataType, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const intAttribute = (name: string, value: number): AttributeObject => ({
  name,
  type: AttributeType.INT,
  i: value,
});

function attributeOf(node: NodeObject, name: string): AttributeObject | undefined {
  return node.attribute?.find((attribute) => attribute.name === name);
}

/** The weight as (out, in) row-major plus the node's alpha and beta; undefined: not a constant Linear. */
interface LinearNode {
  weightName: string;
  weight: Float32Array;
  out: number;
  inFeatures: number;
  alpha: number;
  bias?: Float32Array;
}

function transpose(matrix: Float32Array, rows: number, columns: number): Float32Array {
  const result = new Float32Array(matrix.length);
  for (let row = 0; row < rows; row += 1)
    for (let column = 0; column < columns; column += 1)
      result[column * rows + row] = matrix[row * columns + column]!;
  return result;
}

function linearOf(node: NodeObject, initializers: ReadonlyMap<string, TensorObject>): LinearNode | undefined {
  if ((node.domain ?? '') !== '' || (node.opType !== 'Gemm' && node.opType !== 'MatMul')) return undefined;
  const weightTensor = initializers.get(node.input[1] ?? '');
  // Only named Linear weights (`….weight`): the graph's own constants (rotate_half's ±1 permutation,
  // masks) stay float32, as their exactness matters more than their size.
  if (
    weightTensor === undefined ||
    !weightTensor.name.endsWith('.weight') ||
    weightTensor.dataType !== dataTypes.float ||
    weightTensor.dims.length !== 2
  )
    return undefined;
  if (node.opType === 'Gemm' && (attributeOf(node, 'transA')?.i ?? 0) !== 0) return undefined;
  const transposed = node.opType === 'Gemm' && (attributeOf(node, 'transB')?.i ?? 0) === 1;
  const [first, second] = weightTensor.dims.map(Number) as [number, number];
  const raw = floats(weightTensor);
  const [out, inFeatures] = transposed ? [first, second] : [second, first];
  const weight = transposed ? raw : transpose(raw, first, second); // (out, in)
  const alpha = node.opType === 'Gemm' ? (attributeOf(node, 'alpha')?.f ?? 1) : 1;
  let bias: Float32Array | undefined;
  const biasName = node.opType === 'Gemm' ? node.input[2] : undefined;
  if (biasName !== undefined && biasName !== '') {
    const biasTensor = initializers.get(biasName);
    if (biasTensor === undefined || biasTensor.dataType !== dataTypes.float) return undefined;
    const values = floats(biasTensor);
    if (values.length !== out) return undefined; // a broadcast bias of another shape: leave the node
    const beta = attributeOf(node, 'beta')?.f ?? 1;
    bias = values.map((value) => value * beta);
  }
  return { weightName: weightTensor.name, weight, out, inFeatures, alpha, bias };
}

interface Replacement {
  nodes: NodeObject[];
  initializers: TensorObject[];
  kernel: QuantizationRecord['kernel'];
}

function nbitsReplacement(
  node: NodeObject,
  linear: LinearNode,
  bits: 4 | 8,
  blockSize: number,
  accuracyLevel: number,
): Replacement {
  const { weightName, out, inFeatures } = linear;
  const quantized = quantizeBlocks(linear.weight, out, inFeatures, bits, blockSize, linear.alpha);
  const prefix = `${weightName}.${node.output[0]}.q${bits}`;
  const initializers = [
    rawTensor(
      `${prefix}.weight`,
      dataTypes.uint8,
      [out, quantized.blocks, quantized.blobBytes],
      quantized.values,
    ),
    rawTensor(`${prefix}.scales`, dataTypes.float, [out * quantized.blocks], quantized.scales),
  ];
  const output = node.output[0]!;
  const product = linear.bias === undefined ? output : `${output}.matmul`;
  const nodes: NodeObject[] = [
    {
      name: `${node.name ?? output}.MatMulNBits`,
      opType: 'MatMulNBits',
      domain: microsoft,
      input: [node.input[0]!, `${prefix}.weight`, `${prefix}.scales`],
      output: [product],
      attribute: [
        intAttribute('K', inFeatures),
        intAttribute('N', out),
        intAttribute('bits', bits),
        intAttribute('block_size', blockSize),
        intAttribute('accuracy_level', accuracyLevel),
      ],
    },
  ];
  if (linear.bias !== undefined) {
    initializers.push(rawTensor(`${prefix}.bias`, dataTypes.float, [out], linear.bias));
    nodes.push({
      name: `${output}.bias`,
      opType: 'Add',
      domain: '',
      input: [product, `${prefix}.bias`],
      output: [output],
    });
  }
  return { nodes, initializers, kernel: 'MatMulNBits' };
}

function dynamicInt8Replacement(node: NodeObject, linear: LinearNode): Replacement {
  const { weightName, out, inFeatures } = linear;
  const quantized = quantizeColumnsInt8(linear.weight, out, inFeatures, linear.alpha);
  const prefix = `${weightName}.${node.output[0]}.int8`;
  const initializers = [
    rawTensor(`${prefix}.weight`, dataTypes.int8, [inFeatures, out], quantized.values),
    rawTensor(`${prefix}.scales`, dataTypes.float, [out], quantized.scales),
  ];
  const input = [node.input[0]!, `${prefix}.weight`, `${prefix}.scales`];
  if (linear.bias !== undefined) {
    initializers.push(rawTensor(`${prefix}.bias`, dataTypes.float, [out], linear.bias));
    input.push('', `${prefix}.bias`);
  }
  const nodes: NodeObject[] = [
    {
      name: `${node.name ?? node.output[0]}.DynamicQuantizeMatMul`,
      opType: 'DynamicQuantizeMatMul',
      domain: microsoft,
      input,
      output: [node.output[0]!],
    },
  ];
  return { nodes, initializers, kernel: 'DynamicQuantizeMatMul' };
}

function checkOptions(options: QuantizeOptions): Required<QuantizeOptions> {
  const blockSize = options.blockSize ?? 32;
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new Error(`quantization block size ${blockSize} must be a power of two of at least 16 (e.g. 32)`);
  return {
    mode: options.mode,
    blockSize,
    int8Kernel: options.int8Kernel ?? 'dynamic-quantize-matmul',
    accuracyLevel: options.accuracyLevel ?? 4,
  };
}

/** Quantizes the constant-weight Gemm/MatMul nodes of an ONNX model; see the file comment. */
export function quantizeOnnxModel(
  modelBytes: Uint8Array,
  options: QuantizeOptions,
): { model: Uint8Array; record: QuantizationRecord } {
  const settings = checkOptions(options);
  const decoded = modelProtoType.decode(modelBytes);
  const model = modelProtoType.toObject(decoded, { longs: Number, defaults: false }) as ModelObject;
  const graph = model.graph;
  const initializers = new Map(graph.initializer.map((tensor) => [tensor.name, tensor]));
  const bits: 4 | 8 = settings.mode === 'int4' ? 4 : 8;
  const nodes: NodeObject[] = [];
  const added: TensorObject[] = [];
  let matrices = 0;
  let quantizedParameters = 0;
  let kernel: QuantizationRecord['kernel'] = 'MatMulNBits';
  for (const node of graph.node) {
    const linear = linearOf(node, initializers);
    if (linear === undefined) {
      nodes.push(node);
      continue;
    }
    const replacement =
      bits === 8 && settings.int8Kernel === 'dynamic-quantize-matmul'
        ? dynamicInt8Replacement(node, linear)
        : nbitsReplacement(node, linear, bits, settings.blockSize, settings.accuracyLevel);
    nodes.push(...replacement.nodes);
    added.push(...replacement.initializers);
    kernel = replacement.kernel;
    matrices += 1;
    quantizedParameters += linear.out * linear.inFeatures;
  }
  if (matrices === 0)
    throw new Error('the model has no Gemm or MatMul with a constant float32 weight; nothing to quantize');
  const used = new Set(nodes.flatMap((node) => node.input));
  for (const output of graph.output ?? []) used.add(output.name);
  graph.node = nodes;
  graph.initializer = [...graph.initializer.filter((tensor) => used.has(tensor.name)), ...added];
  const bytes = modelProtoType.encode(modelProtoType.fromObject(model)).finish();
  const record: QuantizationRecord = {
    mode: settings.mode,
    kernel,
    bits,
    ...(kernel === 'MatMulNBits'
      ? { blockSize: settings.blockSize, accuracyLevel: settings.accuracyLevel }
      : {}),
    matrices,
    quantizedParameters,
  };
  return { model: bytes, record };
}
