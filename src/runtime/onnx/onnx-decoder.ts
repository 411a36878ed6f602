/**
 * A causal decoder in the Hugging Face ONNX layout (`config.json`, `generation_config.json`,
 * `onnx/model.onnx` with a KV cache), run with onnxruntime-node as the generation loop's
 * `DecoderModel`: batched, left-padded, the cache a map of named tensors that go back in as the
 * next step's `past_key_values.*`.
 *
 * Where the graph allows (new-position-outputs.ts), a step fetches only the last position's logits
 * and the new positions' keys and values, and appends them to the cache in reused buffers
 * (cache-buffers.ts); otherwise it fetches `logits` and the whole `present.*` cache.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DecoderBatch, DecoderModel, DecoderOutput } from '../generation/decoder-model.js';
import { CacheBuffers } from './cache-buffers.js';
import { readDecoderConfig, type DecoderConfig } from './decoder-config.js';
import {
  cacheEntries,
  readDecoderSignature,
  validateDecoderFeeds,
  type DecoderSignature,
} from './decoder-signature.js';
import { addNewPositionOutputs, type NewPositionOutputs } from './new-position-outputs.js';

/** The cache between steps: `past_key_values.{i}.key|value` → tensor. */
export type OnnxCache = Record<string, ort.Tensor>;

export interface OnnxDecoderOptions {
  /** The model file inside the directory (default `onnx/model.onnx`). */
  modelFile?: string;
  /** Threads inside one op (default: onnxruntime's choice). */
  intraOpNumThreads?: number;
  /**
   * Fetch only the new positions each step where the graph allows (default true); false runs the
   * file's own outputs (`logits` for every position, the whole `present.*` cache).
   */
  newPositionOutputs?: boolean;
}

export const defaultModelFile = 'onnx/model.onnx';

export class OnnxDecoderModel implements DecoderModel<OnnxCache> {
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | undefined;

  /** Why the new-position outputs are not used (undefined: they are). */
  readonly fullOutputsReason: string | undefined;
  private readonly buffers: CacheBuffers;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: DecoderConfig,
    private readonly signature: DecoderSignature,
    readonly modelFile: string,
    private readonly newPositions: NewPositionOutputs | { skipped: string },
  ) {
    this.fullOutputsReason = 'skipped' in newPositions ? newPositions.skipped : undefined;
    // Free buffers kept: two per cache tensor (a step's input and output) for two generations at once.
    this.buffers = new CacheBuffers(4 * signature.cache.length);
    this.vocabSize = config.vocabSize;
    this.eosTokenIds = config.eosTokenIds;
    this.padTokenId = config.padTokenId;
  }

  static async load(directory: string, options: OnnxDecoderOptions = {}): Promise<OnnxDecoderModel> {
    const config = await readDecoderConfig(directory);
    const modelFile = join(directory, options.modelFile ?? defaultModelFile);
    if (!existsSync(modelFile))
      throw new Error(
        `${modelFile} is missing; export the model to ONNX there (\`dnc export CHECKPOINT_DIR --out BRICK_DIR\`)`,
      );
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    };
    if (options.intraOpNumThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
    const newPositions =
      options.newPositionOutputs === false
        ? { skipped: 'turned off (newPositionOutputs: false)' }
        : addNewPositionOutputs(new Uint8Array(await readFile(modelFile)), cacheEntries(config.layers));
    let session: ort.InferenceSession;
    try {
      // From the path when unchanged: onnxruntime resolves external weight files next to it.
      session =
        'skipped' in newPositions
          ? await ort.InferenceSession.create(modelFile, sessionOptions)
          : await ort.InferenceSession.create(newPositions.model, sessionOptions);
    } catch (error) {
      throw new Error(
        `${modelFile}: onnxruntime cannot load it (${(error as Error).message}); re-export the model`,
        { cause: error },
      );
    }
    try {
      const signature = readDecoderSignature(session, config, modelFile);
      return new OnnxDecoderModel(session, config, signature, modelFile, newPositions);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  private emptyCache(batchSize: number): OnnxCache {
    const cache: OnnxCache = {};
    const dims = [batchSize, this.config.keyValueHeads, 0, this.config.headDimension];
    for (const entry of this.signature.cache)
      cache[entry.input] = new ort.Tensor('float32', new Float32Array(0), dims);
    return cache;
  }

  async forward(batch: DecoderBatch, cache: OnnxCache | undefined): Promise<DecoderOutput<OnnxCache>> {
    const { batchSize, length, pastLength } = batch;
    const feeds: Record<string, ort.Tensor> = {
      ...(cache ?? this.emptyCache(batchSize)),
      input_ids: new ort.Tensor('int64', batch.inputIds, [batchSize, length]),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, [batchSize, pastLength + length]),
    };
    if (this.signature.hasPositionIds)
      feeds.position_ids = new ort.Tensor('int64', batch.positionIds, [batchSize, length]);
    validateDecoderFeeds(feeds, this.signature, this.config);
    const outputs = await this.run(feeds);
    if ('skipped' in this.newPositions) {
      const next: OnnxCache = {};
      for (const entry of this.signature.cache) next[entry.input] = outputs[entry.output] as ort.Tensor;
      return { logits: outputs.logits.data as Float32Array, cache: next };
    }
    const next: OnnxCache = {};
    for (const entry of this.signature.cache) {
      const fresh = outputs[this.newPositions.newPositions.get(entry.input)!] as ort.Tensor;
      next[entry.input] = this.append(feeds[entry.input]!, fresh);
    }
    return { logits: outputs[this.newPositions.lastLogits]!.data as Float32Array, cache: next };
  }

  private async run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    try {
      if ('skipped' in this.newPositions) return await this.session.run(feeds);
      const { lastLogits, newPositions } = this.newPositions;
      return await this.session.run(feeds, [lastLogits, ...newPositions.values()]);
    } catch (error) {
      const described = Object.entries(feeds).map(
        ([name, tensor]) => `${name}: ${tensor.type}[${tensor.dims.join(', ')}]`,
      );
      throw new Error(
        `${this.modelFile} failed to run: ${(error as Error).message} (inputs ${described.join('; ')})`,
        { cause: error },
      );
    }
  }

  /** (B, kvH, P, hd) past and (B, kvH, T, hd) new positions → (B, kvH, P + T, hd), in a pooled buffer. */
  private append(past: ort.Tensor, fresh: ort.Tensor): ort.Tensor {
    const [batchSize, heads, pastLength, size] = past.dims as number[];
    const length = fresh.dims[2]!;
    const total = pastLength! + length;
    const rows = batchSize! * heads!;
    const from = past.data as Float32Array;
    const added = fresh.data as Float32Array;
    const joined = this.buffers.take(rows * total * size!);
    const pastRow = pastLength! * size!;
    const newRow = length * size!;
    for (let row = 0; row < rows; row += 1) {
      const offset = row * (pastRow + newRow);
      if (pastRow > 0) joined.set(from.subarray(row * pastRow, (row + 1) * pastRow), offset);
      joined.set(added.subarray(row * newRow, (row + 1) * newRow), offset + pastRow);
    }
    return new ort.Tensor('float32', joined, [batchSize!, heads!, total, size!]);
  }

  /** Gives a cache's pooled buffers back for the next steps (the loop no longer reads it). */
  releaseCache(cache: OnnxCache): void {
    for (const tensor of Object.values(cache)) this.buffers.give(tensor.data as Float32Array);
  }

  /**
   * The cache rows `rows` (in order, repeats allowed) as new tensors: (B, kvH, P, hd) → (R, kvH, P, hd).
   * Copying R·kvH·P·hd floats per tensor costs far less than running finished rows through every
   * layer, or prefilling one prompt once per sample.
   */
  selectRows(cache: OnnxCache, rows: readonly number[]): OnnxCache {
    const selected: OnnxCache = {};
    for (const [name, tensor] of Object.entries(cache)) {
      const [batchSize, ...rest] = tensor.dims as number[];
      const data = tensor.data as Float32Array;
      const perRow = data.length / batchSize!;
      const copy = this.buffers.take(rows.length * perRow);
      rows.forEach((row, index) => copy.set(data.subarray(row * perRow, (row + 1) * perRow), index * perRow));
      selected[name] = new ort.Tensor('float32', copy, [rows.length, ...rest]);
    }
    return selected;
  }

  /**
   * The rows of `first` then those of `second` in new pooled tensors: (Ba, kvH, Pa, hd) and
   * (Bb, kvH, Pb, hd) → (Ba + Bb, kvH, max(Pa, Pb), hd), the shorter past left-padded with zeros
   * (the loop gives those positions mask 0). Neither input is changed or released.
   */
  joinRows(first: OnnxCache, second: OnnxCache): OnnxCache {
    const joined: OnnxCache = {};
    for (const [name, top] of Object.entries(first)) {
      const bottom = second[name];
      if (bottom === undefined) throw new Error(`joinRows: the second cache has no ${name}`);
      const [topRows, heads, topLength, size] = top.dims as number[];
      const [bottomRows, , bottomLength] = bottom.dims as number[];
      const length = Math.max(topLength!, bottomLength!);
      const copy = this.buffers.take((topRows! + bottomRows!) * heads! * length * size!);
      const topEnd = leftPadInto(
        copy,
        0,
        top.data as Float32Array,
        topRows! * heads!,
        topLength! * size!,
        length * size!,
      );
      leftPadInto(
        copy,
        topEnd,
        bottom.data as Float32Array,
        bottomRows! * heads!,
        bottomLength! * size!,
        length * size!,
      );
      joined[name] = new ort.Tensor('float32', copy, [topRows! + bottomRows!, heads!, length, size!]);
    }
    return joined;
  }

  /**
   * The rows `rows` of the cache without their first `count` positions, in one pooled copy:
   * (B, kvH, P, hd) → (R, kvH, P − count, hd).
   */
  dropPastPositions(cache: OnnxCache, count: number, rows: readonly number[]): OnnxCache {
    const kept: OnnxCache = {};
    for (const [name, tensor] of Object.entries(cache)) {
      const [, heads, length, size] = tensor.dims as number[];
      if (!(count >= 0 && count <= length!))
        throw new Error(`dropPastPositions: cannot drop ${count} of ${length} positions`);
      const from = tensor.data as Float32Array;
      const headFloats = length! * size!;
      const keptFloats = (length! - count) * size!;
      const copy = this.buffers.take(rows.length * heads! * keptFloats);
      rows.forEach((row, index) => {
        for (let head = 0; head < heads!; head += 1) {
          const start = (row * heads! + head) * headFloats;
          copy.set(
            from.subarray(start + count * size!, start + headFloats),
            (index * heads! + head) * keptFloats,
          );
        }
      });
      kept[name] = new ort.Tensor('float32', copy, [rows.length, heads!, length! - count, size!]);
    }
    return kept;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Copies `rows` rows of `rowFloats` each into `target` from `offset`, each right-aligned in a row of
 * `paddedFloats` (zeros before it); returns where the next row would start.
 */
function leftPadInto(
  target: Float32Array,
  offset: number,
  source: Float32Array,
  rows: number,
  rowFloats: number,
  paddedFloats: number,
): number {
  const padding = paddedFloats - rowFloats;
  for (let row = 0; row < rows; row += 1) {
    const start = offset + row * paddedFloats;
    if (padding > 0) target.fill(0, start, start + padding);
    target.set(source.subarray(row * rowFloats, (row + 1) * rowFloats), start + padding);
  }
  return offset + rows * paddedFloats;
}
