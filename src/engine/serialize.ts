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

function tensorProto(
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

/** Serializes the graph; the graph's outputs must have been declared with `graph.output`. */
export function serializeGraph(graph: GraphCore, docString = ''): Uint8Array {
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
      initializer: graph.initializers.map(({ value, data }) =>
        tensorProto(value.name, value.dataType, value.shape as number[], data),
      ),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
  const message = modelProtoType.fromObject(model);
  return modelProtoType.encode(message).finish();
}
