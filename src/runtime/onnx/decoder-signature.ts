/**
 * The input/output signature of a decoder ONNX model, read from the session's metadata and
 * checked against `config.json` at load time: `input_ids`, `attention_mask`, optional
 * `position_ids`, one `past_key_values.{i}.key|value` pair per layer (float32, (B, kvHeads, P, hd))
 * in; `logits` and the matching `present.{i}.key|value` out. Each run's feeds are checked against
 * it too, so a wrong shape fails with the tensor's name instead of deep inside onnxruntime.
 */
import type * as ort from 'onnxruntime-node';
import type { DecoderConfig } from './decoder-config.js';

export interface CacheEntry {
  /** `past_key_values.{i}.key` */
  input: string;
  /** `present.{i}.key` */
  output: string;
}

export interface DecoderSignature {
  hasPositionIds: boolean;
  cache: CacheEntry[];
}

const pastPattern = /^past_key_values\.(\d+)\.(key|value)$/;
const knownInputs = new Set(['input_ids', 'attention_mask', 'position_ids']);

type Metadata = ort.InferenceSession.ValueMetadata;

/** `past_key_values.{i}.key|value` → `present.{i}.key|value`, for every layer in order. */
export function cacheEntries(layers: number): CacheEntry[] {
  return Array.from({ length: layers }, (_, layer) =>
    ['key', 'value'].map((part) => ({
      input: `past_key_values.${layer}.${part}`,
      output: `present.${layer}.${part}`,
    })),
  ).flat();
}

function tensorMetadata(
  list: readonly Metadata[],
  name: string,
): { type: string; shape: readonly (number | string)[] } | undefined {
  const found = list.find((entry) => entry.name === name);
  return found !== undefined && found.isTensor ? { type: found.type, shape: found.shape } : undefined;
}

export function readDecoderSignature(
  session: ort.InferenceSession,
  config: DecoderConfig,
  modelFile: string,
  /** Outputs dropped at load, once checked (new-position-outputs.ts): `present.*`, `logits`. */
  dropped: { cacheOutputs: boolean; logits: boolean } = { cacheOutputs: false, logits: false },
): DecoderSignature {
  const problems: string[] = [];
  const inputs = session.inputMetadata;
  for (const name of ['input_ids', 'attention_mask']) {
    const metadata = tensorMetadata(inputs, name);
    if (metadata === undefined) problems.push(`it has no input '${name}'`);
    else if (metadata.type !== 'int64') problems.push(`input '${name}' is ${metadata.type}, not int64`);
  }
  const unknown = session.inputNames.filter((name) => !knownInputs.has(name) && !pastPattern.test(name));
  if (unknown.length > 0) problems.push(`it has inputs dnc does not know how to feed: ${unknown.join(', ')}`);
  const cache: CacheEntry[] = [];
  for (const { input, output } of cacheEntries(config.layers)) {
    const metadata = tensorMetadata(inputs, input);
    if (metadata === undefined) {
      problems.push(`it has no input '${input}' (config.json says ${config.layers} layers)`);
      continue;
    }
    if (metadata.type !== 'float32')
      problems.push(`cache input '${input}' is ${metadata.type}; dnc runs float32 caches`);
    const [, heads, , size] = metadata.shape;
    if (
      (typeof heads === 'number' && heads !== config.keyValueHeads) ||
      (typeof size === 'number' && size !== config.headDimension)
    )
      problems.push(
        `cache input '${input}' has shape [${metadata.shape.join(', ')}] but config.json gives ` +
          `${config.keyValueHeads} key/value heads of size ${config.headDimension}`,
      );
    if (!dropped.cacheOutputs && !session.outputNames.includes(output))
      problems.push(`it has input '${input}' but no output '${output}'`);
    cache.push({ input, output });
  }
  const extraPast = session.inputNames.filter((name) => pastPattern.test(name)).length - 2 * config.layers;
  if (extraPast > 0)
    problems.push(`it has ${extraPast} more cache inputs than config.json's ${config.layers} layers need`);
  const logits = tensorMetadata(session.outputMetadata, 'logits');
  if (logits === undefined) {
    if (!dropped.logits) problems.push("it has no output 'logits'");
  } else {
    const vocabulary = logits.shape.at(-1);
    if (typeof vocabulary === 'number' && vocabulary !== config.vocabSize)
      problems.push(
        `its logits have ${vocabulary} entries but config.json says vocab_size ${config.vocabSize}`,
      );
  }
  if (problems.length > 0)
    throw new Error(
      `${modelFile} is not a decoder with a KV cache that matches config.json: ${problems.join('; ')}. ` +
        'Export it again (`dnc export`, or Optimum with --task text-generation-with-past) or fix config.json',
    );
  return { hasPositionIds: session.inputNames.includes('position_ids'), cache };
}

/** Checks one run's feeds: every tensor present, int64/float32 as required, and consistent dims. */
export function validateDecoderFeeds(
  feeds: Record<string, ort.Tensor>,
  signature: DecoderSignature,
  config: DecoderConfig,
): void {
  const ids = feeds.input_ids;
  const problems: string[] = [];
  const [batch, length] = ids.dims;
  const past = feeds[signature.cache[0]?.input ?? '']?.dims[2] ?? 0;
  const expect = (name: string, type: string, dims: readonly number[]): void => {
    const tensor = feeds[name];
    if (tensor === undefined) problems.push(`'${name}' is missing`);
    else if (
      tensor.type !== type ||
      tensor.dims.length !== dims.length ||
      tensor.dims.some((size, axis) => size !== dims[axis])
    )
      problems.push(
        `'${name}' is ${tensor.type}[${tensor.dims.join(', ')}], expected ${type}[${dims.join(', ')}]`,
      );
  };
  expect('input_ids', 'int64', [batch, length]);
  expect('attention_mask', 'int64', [batch, past + length]);
  if (signature.hasPositionIds) expect('position_ids', 'int64', [batch, length]);
  for (const entry of signature.cache)
    expect(entry.input, 'float32', [batch, config.keyValueHeads, past, config.headDimension]);
  if (problems.length > 0) throw new Error(`decoder feeds do not fit the model: ${problems.join('; ')}`);
}
