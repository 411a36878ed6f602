/**
 * A causal decoder in the Hugging Face ONNX layout (`config.json`, `generation_config.json`,
 * `onnx/model.onnx` with a KV cache), run with onnxruntime-node as the generation loop's
 * `DecoderModel`: batched, left-padded, the cache named tensors that go back in as the next step's
 * `past_key_values.*`.
 *
 * Where the graph allows (new-position-outputs.ts), a step fetches only the last position's logits
 * and the new positions' keys and values, and writes them into the cache's buffers, which keep room
 * for the positions to come (kv-cache.ts); otherwise it fetches `logits` and the whole `present.*`
 * cache.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
import { KvCacheLayout, type KvCache } from './kv-cache.js';
import { addNewPositionOutputs, type NewPositionOutputs } from './new-position-outputs.js';

/** The cache between steps: every `past_key_values.{i}.key|value` in buffers with room (kv-cache.ts). */
export type OnnxCache = KvCache;

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
  /**
   * Keep free positions in the cache's buffers so that a step writes only its new positions (default
   * true; kv-cache.ts). Applies with the new-position outputs and a `position_ids` input.
   */
  cacheRoom?: boolean;
}

export const defaultModelFile = 'onnx/model.onnx';

export class OnnxDecoderModel implements DecoderModel<OnnxCache> {
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | undefined;

  /** Why the new-position outputs are not used (undefined: they are). */
  readonly fullOutputsReason: string | undefined;
  /** Whether `present.*` and the nodes only it needs were left out of the session (nothing read them). */
  readonly cacheOutputsDropped: boolean;
  /** Whether the cache's buffers keep free positions, so a step writes only its own (kv-cache.ts). */
  readonly cacheRoom: boolean;
  private readonly layout: KvCacheLayout;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: DecoderConfig,
    private readonly signature: DecoderSignature,
    readonly modelFile: string,
    private readonly newPositions: NewPositionOutputs | { skipped: string },
    cacheRoom: boolean,
  ) {
    this.fullOutputsReason = 'skipped' in newPositions ? newPositions.skipped : undefined;
    // Free buffers kept: two per cache tensor (a step's input and output) for two generations at once.
    const buffers = new CacheBuffers(4 * signature.cache.length);
    const names = signature.cache.map((entry) => entry.input);
    this.cacheOutputsDropped = droppedOutputs(newPositions).cacheOutputs;
    this.cacheRoom = cacheRoom && this.fullOutputsReason === undefined && signature.hasPositionIds;
    this.layout = new KvCacheLayout(
      names,
      config.keyValueHeads,
      config.headDimension,
      buffers,
      this.cacheRoom,
    );
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
    // From bytes, onnxruntime finds external weight files only in a folder it is told (from a path,
    // next to the model).
    if (!('skipped' in newPositions) && newPositions.externalData)
      sessionOptions.extra = {
        session: { model_external_initializers_file_folder_path: dirname(modelFile) },
      };
    let session: ort.InferenceSession;
    try {
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
      const signature = readDecoderSignature(session, config, modelFile, droppedOutputs(newPositions));
      return new OnnxDecoderModel(
        session,
        config,
        signature,
        modelFile,
        newPositions,
        options.cacheRoom ?? true,
      );
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  async forward(batch: DecoderBatch, cache: OnnxCache | undefined): Promise<DecoderOutput<OnnxCache>> {
    const { batchSize, length, pastLength } = batch;
    const past = cache ?? this.layout.empty(batchSize);
    if (past.batchSize !== batchSize || past.length !== pastLength)
      throw new Error(
        `the cache holds ${past.batchSize} rows of ${past.length} positions, but the batch has ` +
          `${batchSize} rows after ${pastLength}; pass the cache the previous step returned`,
      );
    const mask = this.layout.mask(past, batch.attentionMask, length);
    const feeds: Record<string, ort.Tensor> = {
      ...this.layout.feeds(past),
      input_ids: new ort.Tensor('int64', batch.inputIds, [batchSize, length]),
      attention_mask: new ort.Tensor('int64', mask, [batchSize, past.capacity + length]),
    };
    if (this.signature.hasPositionIds)
      feeds.position_ids = new ort.Tensor('int64', batch.positionIds, [batchSize, length]);
    validateDecoderFeeds(feeds, this.signature, this.config);
    const outputs = await this.run(feeds);
    if ('skipped' in this.newPositions) {
      const full = new Map(
        this.signature.cache.map((entry) => [entry.input, outputs[entry.output] as ort.Tensor]),
      );
      return { logits: outputs.logits.data as Float32Array, cache: this.layout.fromFull(full, batchSize) };
    }
    const { lastLogits, newPositions } = this.newPositions;
    const fresh = new Map(
      this.signature.cache.map((entry) => {
        const output = outputs[newPositions.get(entry.input)!] as ort.Tensor;
        return [entry.input, output.data as Float32Array];
      }),
    );
    return {
      logits: outputs[lastLogits]!.data as Float32Array,
      cache: this.layout.extend(past, fresh, length),
    };
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

  /** Gives a cache's pooled buffers back for the next steps (the loop no longer reads it). */
  releaseCache(cache: OnnxCache): void {
    this.layout.release(cache);
  }

  /**
   * The cache rows `rows` (in order, repeats allowed) in a new cache. Copying them costs far less
   * than running finished rows through every layer, or prefilling one prompt once per sample.
   */
  selectRows(cache: OnnxCache, rows: readonly number[]): OnnxCache {
    return this.layout.selectRows(cache, rows);
  }

  /**
   * The rows of `first` then those of `second` in a new cache, the shorter past left-padded with
   * zeros (the loop gives those positions mask 0). Neither input is changed or released.
   */
  joinRows(first: OnnxCache, second: OnnxCache): OnnxCache {
    return this.layout.joinRows(first, second);
  }

  /** The rows `rows` of the cache without their first `count` positions, in a new cache. */
  dropPastPositions(cache: OnnxCache, count: number, rows: readonly number[]): OnnxCache {
    return this.layout.dropPastPositions(cache, count, rows);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** The file's outputs the load left out of the session (new-position-outputs.ts): `present.*`, `logits`. */
function droppedOutputs(newPositions: NewPositionOutputs | { skipped: string }): {
  cacheOutputs: boolean;
  logits: boolean;
} {
  return 'skipped' in newPositions
    ? { cacheOutputs: false, logits: false }
    : { cacheOutputs: newPositions.droppedCacheOutputs, logits: newPositions.lastPositionHead };
}
