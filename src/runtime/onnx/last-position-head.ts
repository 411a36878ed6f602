/**
 * The language-model head on the last position only, for the new-position outputs
 * (new-position-outputs.ts). A decoder's `logits` output covers every position, (B, S, V), so a
 * prefill of S prompt tokens runs the head S times, and the runtime reads one position per row: the
 * head is 2 × C × V of the 2 × parameters FLOPs per token, 15% of a tiny-preset prefill and 21% at
 * SmolLM2-135M's shape. Where the graph ends as dnc's exporter writes it,
 *
 *   logits (B, S, V) = Reshape(Gemm(hidden (B·S, C), W), …)
 *
 * this adds the same Gemm on each row's last hidden state and names what the old head computed, so
 * that the caller drops the full `logits` and the nodes only it needed (drop-graph-outputs.ts). Any
 * other ending (Optimum's MatMul over (B, S, C), a head read elsewhere) gets undefined: the caller
 * then slices the full logits instead.
 */
import { tensorProto } from '../../engine/serialize.js';

interface NodeLike {
  opType?: string;
  input?: string[];
  output?: string[];
  attribute?: unknown[];
}

export interface LastPositionHead {
  /** Nodes computing `output`, (B, 1, V). */
  nodes: object[];
  initializers: object[];
  /** The full `logits` and the old head's values: nothing else reads them. */
  dropped: string[];
}

/**
 * The head on the last positions, writing `output`, or undefined when the graph does not end in
 * `logits = Reshape(Gemm(hidden, W))` read by nothing else. `names` prefixes every new value.
 */
export function lastPositionHead(
  producers: ReadonlyMap<string, NodeLike>,
  consumers: ReadonlyMap<string, number>,
  names: string,
  output: string,
): LastPositionHead | undefined {
  const reshape = producers.get('logits');
  const projected = reshape?.opType === 'Reshape' ? reshape.input?.[0] : undefined;
  const gemm = projected === undefined ? undefined : producers.get(projected);
  if (gemm?.opType !== 'Gemm' || gemm.input === undefined || gemm.input.length < 2) return undefined;
  if ((consumers.get('logits') ?? 0) > 0 || consumers.get(projected!) !== 1) return undefined;
  const [hidden, ...weights] = gemm.input as [string, ...string[]];
  const value = (part: string) => `${names}.${part}`;
  const constant = (part: string, values: number[]) =>
    tensorProto(value(part), 'int64', [values.length], values);
  const node = (opType: string, input: string[], part: string, attribute: unknown[] = []) => ({
    opType,
    input,
    output: [part === 'logits' ? output : value(part)],
    name: value(part),
    attribute,
  });
  const axis = [{ name: 'axis', type: 2, i: 0 }];
  return {
    nodes: [
      node('Shape', ['input_ids'], 'ids_shape'), // (2) = [B, S]
      node('Concat', [value('ids_shape'), value('minus_one')], 'hidden_shape', axis), // (3) = [B, S, -1]
      node('Reshape', [hidden, value('hidden_shape')], 'hidden'), // (B, S, C)
      node('Slice', [value('hidden'), value('last'), value('end'), value('one')], 'last_hidden'), // (B, 1, C)
      node('Reshape', [value('last_hidden'), value('rows_shape')], 'rows'), // (B, C)
      node('Gemm', [value('rows'), ...weights], 'row_logits', gemm.attribute ?? []), // (B, V)
      node('Reshape', [value('row_logits'), value('logits_shape')], 'logits'), // (B, 1, V)
    ],
    initializers: [
      constant('minus_one', [-1]),
      constant('last', [-1]),
      constant('end', [Number.MAX_SAFE_INTEGER]),
      constant('one', [1]),
      constant('rows_shape', [0, -1]),
      constant('logits_shape', [0, 1, -1]),
    ],
    dropped: ['logits', projected!],
  };
}
