/**
 * A load-time addition to a Hugging Face layout decoder that lets a generation step fetch only what
 * is new: the last position's logits, (B, 1, V), and each layer's keys and values for the step's
 * own positions, (B, kvH, T, hd), instead of `logits` for every position and the whole
 * `present.*` cache, (B, kvH, P + T, hd), which onnxruntime-node copies into fresh JavaScript
 * buffers on every step. The runtime writes the new positions into its cache itself (kv-cache.ts).
 * Measured on the tiny preset (bench/decode.ts): those per-step buffers made V8 run a full garbage
 * collection every few dozen steps ("external memory pressure").
 *
 * The extra nodes and outputs are appended to the ModelProto bytes: protobuf merges a message field
 * that occurs twice (repeated fields concatenate), so the original bytes plus a small encoded
 * `ModelProto { graph { node, initializer, output } }` is the model with the extra nodes, with no
 * re-encoding of the weights. Outputs nothing reads any more are then dropped, with the nodes only
 * they needed (drop-graph-outputs.ts): `present.*` where the attention does not read it
 * (cached-attention.ts), and the full `logits` where the head can run on the last positions alone
 * (last-position-head.ts), since onnxruntime runs every node whether or not its output is fetched.
 * The file on disk is unchanged; transformers.js or Optimum read the same file as before.
 *
 * It applies when every `present.{i}.key|value` is a Concat along the sequence axis of the matching
 * `past_key_values.{i}.key|value` and one new tensor (what dnc's exporter and Optimum's Llama export
 * write); otherwise the decoder runs with its full outputs (fused attention ops). A model whose
 * weights live in external data files (over 1 GiB) works too: the session is then created from these
 * bytes with onnxruntime told which folder holds the data files (`externalData`).
 */
import { onnxDataTypeCode } from '../../engine/data-type.js';
import { modelProtoType } from '../../engine/onnx-schema.js';
import { tensorProto } from '../../engine/serialize.js';
import type { CacheEntry } from './decoder-signature.js';
import { dropGraphOutputs } from './drop-graph-outputs.js';
import { lastPositionHead } from './last-position-head.js';

export interface NewPositionOutputs {
  /** The model bytes with the appended nodes and outputs. */
  model: Uint8Array;
  /** The (B, 1, V) output: the logits of each row's last position. */
  lastLogits: string;
  /** Per cache input: the (B, kvH, T, hd) output holding the step's new positions. */
  newPositions: Map<string, string>;
  /**
   * Whether the `present.*` outputs and their Concat nodes were dropped (nothing else in the graph
   * reads them, as in dnc's exports, cached-attention.ts); otherwise the attention reads the Concat,
   * which then runs anyway.
   */
  droppedCacheOutputs: boolean;
  /**
   * Whether the head runs on each row's last position only and the full `logits` output was dropped
   * (last-position-head.ts); otherwise `lastLogits` slices the full logits.
   */
  lastPositionHead: boolean;
  /** Whether some weights are in external data files (next to the model file on disk). */
  externalData: boolean;
}

interface NodeLike {
  opType?: string;
  input?: string[];
  output?: string[];
  attribute?: { name?: string; i?: number | { toNumber(): number } }[];
}

interface ModelLike {
  graph?: {
    node?: NodeLike[];
    initializer?: { name?: string; dataLocation?: number }[];
  };
}

const prefix = 'dnc.new_positions';
const lastLogitsName = `${prefix}.logits`;

function integer(value: number | { toNumber(): number } | undefined): number | undefined {
  return value === undefined ? undefined : typeof value === 'number' ? value : value.toNumber();
}

/** The tensor a cache output appends to its past, when the output is `Concat(past, new, axis=2)`. */
function appendedTensor(producer: NodeLike | undefined, past: string): string | undefined {
  if (producer?.opType !== 'Concat' || producer.input?.length !== 2 || producer.input[0] !== past)
    return undefined;
  const axis = integer(producer.attribute?.find((attribute) => attribute.name === 'axis')?.i);
  return axis === 2 || axis === -2 ? producer.input[1] : undefined;
}

/**
 * The model with new-position outputs, or why not (`skipped`): its graph does not have the Concat
 * cache this needs.
 */
export function addNewPositionOutputs(
  modelBytes: Uint8Array,
  cache: readonly CacheEntry[],
): NewPositionOutputs | { skipped: string } {
  const graph = (modelProtoType.decode(modelBytes) as ModelLike).graph;
  const externalData = graph?.initializer?.some((tensor) => tensor.dataLocation === 1) ?? false;
  const producers = new Map<string, NodeLike>();
  const consumers = new Map<string, number>();
  for (const node of graph?.node ?? []) {
    for (const output of node.output ?? []) producers.set(output, node);
    for (const input of node.input ?? []) consumers.set(input, (consumers.get(input) ?? 0) + 1);
  }
  const names = new Set([...producers.keys(), ...(graph?.initializer ?? []).map((tensor) => tensor.name)]);
  if ([...names].some((name) => name?.startsWith(prefix)))
    return { skipped: `it already has values named ${prefix}.*` };
  const nodes: NodeLike[] = [];
  const newPositions = new Map<string, string>();
  for (const [index, entry] of cache.entries()) {
    const appended = appendedTensor(producers.get(entry.output), entry.input);
    if (appended === undefined)
      return { skipped: `'${entry.output}' is not a Concat of '${entry.input}' along the sequence axis` };
    const name = `${prefix}.${entry.output}`;
    nodes.push({
      opType: 'Identity',
      input: [appended],
      output: [name],
      name: `${prefix}.identity.${index}`,
    } as NodeLike);
    newPositions.set(entry.input, name);
  }
  const head = lastPositionHead(producers, consumers, `${prefix}.head`, lastLogitsName);
  const slice = ['starts', 'ends', 'axes'].map((part) => `${prefix}.slice.${part}`);
  // The head on each row's last position, or else the full logits' last position.
  if (head !== undefined) nodes.push(...(head.nodes as NodeLike[]));
  else
    nodes.push({
      opType: 'Slice',
      input: ['logits', ...slice],
      output: [lastLogitsName],
      name: `${prefix}.slice`,
    } as NodeLike);
  const appendix = modelProtoType
    .encode(
      modelProtoType.fromObject({
        graph: {
          node: nodes,
          initializer: head?.initializers ?? [
            tensorProto(slice[0]!, 'int64', [1], [-1]),
            tensorProto(slice[1]!, 'int64', [1], [Number.MAX_SAFE_INTEGER]),
            tensorProto(slice[2]!, 'int64', [1], [1]),
          ],
          output: [lastLogitsName, ...newPositions.values()].map((name) => ({
            name,
            type: { tensorType: { elemType: onnxDataTypeCode.float32 } },
          })),
        },
      }),
    )
    .finish();
  const presentNames = cache.map((entry) => entry.output);
  const droppedCacheOutputs = !presentNames.some((name) => consumers.has(name));
  const dropped = new Set([...(droppedCacheOutputs ? presentNames : []), ...(head?.dropped ?? [])]);
  const base = dropped.size > 0 ? dropGraphOutputs(modelBytes, dropped) : modelBytes;
  const model = new Uint8Array(base.length + appendix.length);
  model.set(base);
  model.set(appendix, base.length);
  return {
    model,
    lastLogits: lastLogitsName,
    newPositions,
    droppedCacheOutputs,
    lastPositionHead: head !== undefined,
    externalData,
  };
}
