/** Writes a builder graph as ONNX ModelProto bytes (ir_version 9, default-domain opset 18). */
import { type DataType, encodeRawData, onnxDataTypeCode } from './data-type.js';
import { type Attribute, type GraphCore, type Value } from './graph-core.js';
import { AttributeType, modelProtoType } from './onnx-schema.js';

export const IR_VERSION = 9;
export const OPSET_VERSION = 18;

function valueInfo(value: Value): object {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: onnxDataTypeCode[value.dataType],
        shape: {
          dim: value.shape.map((dimension) =>
            typeof dimension === 'number' ? { dimValue: dimension } : { dimParam: dimension },
          ),
        },
      },
    },
  };
}

/** A `TensorProto` object (for `modelProtoType.fromObject`) holding `data` as raw little-endian bytes. */
export function tensorProto(
  name: string,
  dataType: DataType,
  shape: readonly number[],
  data: ArrayLike<number | bigint>,
) {
  return {
    name,
    dataType: onnxDataTypeCode[dataType],
    dims: [...shape],
    rawData: encodeRawData(dataType, data),
  };
}

function attributeProto(name: string, attribute: Attribute): object {
  switch (attribute.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: attribute.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: attribute.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: [...attribute.value] };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...attribute.value] };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(attribute.value) };
    case 'tensor':
      return {
        name,
        type: AttributeType.TENSOR,
        t: tensorProto('', attribute.dataType, attribute.shape, attribute.data),
      };
  }
}

/** Where the large initializers of a graph go instead of the model file (ONNX external data). */
export interface ExternalDataOptions {
  /** The data file's name, relative to the model file (e.g. `model.onnx_data`). */
  location: string;
  /** Initializers of at least this many bytes go to the data file (default 1024). */
  minimumBytes?: number;
}

/** The data file's contents: byte chunks to write one after another (views, not copies, where possible). */
export interface ExternalData {
  chunks: Uint8Array[];
  bytes: number;
}

const littleEndian = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** Offsets in the data file are multiples of this, so onnxruntime can map tensors from it. */
const externalAlignment = 4096;

function externalInitializers(graph: GraphCore, options: ExternalDataOptions) {
  const minimumBytes = options.minimumBytes ?? 1024;
  const data: ExternalData = { chunks: [], bytes: 0 };
  const initializers = graph.initializers.map(({ value, data: values }) => {
    const raw =
      values instanceof Float32Array && value.dataType === 'float32' && littleEndian
        ? new Uint8Array(values.buffer, values.byteOffset, values.byteLength) // the weights' own bytes, no copy
        : encodeRawData(value.dataType, values);
    if (raw.byteLength < minimumBytes)
      return tensorProto(value.name, value.dataType, value.shape as number[], values);
    const padding = (externalAlignment - (data.bytes % externalAlignment)) % externalAlignment;
    if (padding > 0) data.chunks.push(new Uint8Array(padding));
    const offset = data.bytes + padding;
    data.chunks.push(raw);
    data.bytes = offset + raw.byteLength;
    return {
      name: value.name,
      dataType: onnxDataTypeCode[value.dataType],
      dims: [...(value.shape as number[])],
      dataLocation: 1,
      externalData: [
        { key: 'location', value: options.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.byteLength) },
      ],
    };
  });
  return { initializers, data };
}

/**
 * Serializes the graph with its large initializers in a separate data file (ONNX external data),
 * as models over protobuf's 2 GB limit must be: returns the model bytes and the data file's chunks.
 */
export function serializeGraphWithExternalData(
  graph: GraphCore,
  docString: string,
  options: ExternalDataOptions,
): { model: Uint8Array; data: ExternalData } {
  const { initializers, data } = externalInitializers(graph, options);
  return { model: serializeGraph(graph, docString, initializers), data };
}

/** Serializes the graph; the graph's outputs must have been declared with `graph.output`. */
export function serializeGraph(
  graph: GraphCore,
  docString = '',
  initializerProtos: object[] | undefined = undefined,
): Uint8Array {
  if (graph.outputs.length === 0)
    throw new Error(`graph '${graph.name}' has no outputs; call graph.output(value)`);
  const model = {
    irVersion: IR_VERSION,
    producerName: 'dnc',
    producerVersion: '0.1.0',
    docString,
    opsetImport: [
      { domain: '', version: OPSET_VERSION },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: graph.name,
      node: graph.nodes.map((node, index) => ({
        name: `${node.opType}_${index}`,
        opType: node.opType,
        domain: node.domain,
        input: node.inputs.map((input) => input?.name ?? ''),
        output: node.outputs.map((output) => output.name),
        attribute: Object.entries(node.attributes).map(([name, attribute]) =>
          attributeProto(name, attribute),
        ),
      })),
      initializer:
        initializerProtos ??
        graph.initializers.map(({ value, data }) =>
          tensorProto(value.name, value.dataType, value.shape as number[], data),
        ),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
  const message = modelProtoType.fromObject(model);
  return modelProtoType.encode(message).finish();
}
