/**
 * Removes graph outputs, and the nodes that only they read, from ONNX model bytes without decoding
 * the weights. onnxruntime runs every node of a graph on every run, whether or not its outputs are
 * fetched, so an output the runtime never reads still costs its node each step; for a decoder's
 * `present.*` cache (a Concat of the whole past and the new positions) that is a copy of every
 * layer's cache per step.
 *
 * Hand-written at the protobuf wire level because no ONNX editing library runs in Node: the
 * ModelProto's fields are kept byte for byte except `graph` (field 7), whose fields are kept byte for
 * byte except the dropped `node` (1) and `output` (12) entries. Initializers are copied, not decoded.
 */
import protobuf from 'protobufjs';

const modelGraphField = 7;
const graphNodeField = 1;
const graphOutputField = 12;
const nodeOutputField = 2;
const valueInfoNameField = 1;
const lengthDelimited = 2;

interface Field {
  number: number;
  /** The whole field, tag included. */
  start: number;
  end: number;
  /** A length-delimited field's payload. */
  payload?: Uint8Array;
}

function fields(bytes: Uint8Array): Field[] {
  const reader = protobuf.Reader.create(bytes);
  const found: Field[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const number = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === lengthDelimited) {
      const payload = reader.bytes();
      found.push({ number, start, end: reader.pos, payload });
    } else {
      reader.skipType(wireType);
      found.push({ number, start, end: reader.pos });
    }
  }
  return found;
}

const decoder = new TextDecoder();

function strings(message: Uint8Array, fieldNumber: number): string[] {
  return fields(message)
    .filter((field) => field.number === fieldNumber && field.payload !== undefined)
    .map((field) => decoder.decode(field.payload));
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/**
 * The model without the graph outputs named in `outputs` and without every node whose outputs are
 * all among them (nothing else may read those values: the caller checks that).
 */
export function dropGraphOutputs(modelBytes: Uint8Array, outputs: ReadonlySet<string>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const field of fields(modelBytes)) {
    if (field.number !== modelGraphField || field.payload === undefined) {
      parts.push(modelBytes.subarray(field.start, field.end));
      continue;
    }
    const graph = field.payload;
    const kept: Uint8Array[] = [];
    for (const entry of fields(graph)) {
      const payload = entry.payload;
      if (payload !== undefined && entry.number === graphOutputField) {
        if (strings(payload, valueInfoNameField).every((name) => outputs.has(name))) continue;
      }
      if (payload !== undefined && entry.number === graphNodeField) {
        const produced = strings(payload, nodeOutputField);
        if (produced.length > 0 && produced.every((name) => outputs.has(name))) continue;
      }
      kept.push(graph.subarray(entry.start, entry.end));
    }
    const newGraph = join(kept);
    const writer = protobuf.Writer.create();
    writer.uint32((modelGraphField << 3) | lengthDelimited).uint32(newGraph.length);
    parts.push(writer.finish(), newGraph);
  }
  return join(parts);
}
