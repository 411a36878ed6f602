/**
 * A causal decoder in the Hugging Face ONNX layout (`config.json`, `generation_config.json`,
 * `onnx/model.onnx` with a KV cache), run with onnxruntime-node as the generation loop's
 * `DecoderModel`: batched, left-padded, the cache a map of named tensors that go back in as the
 * next step's `past_key_values.*` without being copied or reshaped in JavaScript.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DecoderBatch, DecoderModel, DecoderOutput } from '../generation/decoder-model.js';
import { readDecoderConfig, type DecoderConfig } from './decoder-config.js';
import { readDecoderSignature, validateDecoderFeeds, type DecoderSignature } from './decoder-signature.js';

/** The cache between steps: `past_key_values.{i}.key|value` → tensor. */
export type OnnxCache = Record<string, ort.Tensor>;

export interface OnnxDecoderOptions {
  /** The model file inside the directory (default `onnx/model.onnx`). */
  modelFile?: string;
  /** Threads inside one op (default: onnxruntime's choice). */
  intraOpNumThreads?: number;
}

export const defaultModelFile = 'onnx/model.onnx';

export class OnnxDecoderModel implements DecoderModel<OnnxCache> {
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | undefined;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: DecoderConfig,
    private readonly signature: DecoderSignature,
    readonly modelFile: string,
  ) {
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
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelFile, sessionOptions);
    } catch (error) {
      throw new Error(
        `${modelFile}: onnxruntime cannot load it (${(error as Error).message}); re-export the model`,
        {
          cause: error,
        },
      );
    }
    try {
      return new OnnxDecoderModel(
        session,
        config,
        readDecoderSignature(session, config, modelFile),
        modelFile,
      );
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
    let outputs: ort.InferenceSession.OnnxValueMapType;
    try {
      outputs = await this.session.run(feeds);
    } catch (error) {
      const described = Object.entries(feeds).map(
        ([name, tensor]) => `${name}: ${tensor.type}[${tensor.dims.join(', ')}]`,
      );
      throw new Error(
        `${this.modelFile} failed to run: ${(error as Error).message} (inputs ${described.join('; ')})`,
        {
          cause: error,
        },
      );
    }
    const next: OnnxCache = {};
    for (const entry of this.signature.cache) next[entry.input] = outputs[entry.output] as ort.Tensor;
    return { logits: outputs.logits.data as Float32Array, cache: next };
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
      const copy = new Float32Array(rows.length * perRow);
      rows.forEach((row, index) => copy.set(data.subarray(row * perRow, (row + 1) * perRow), index * perRow));
      selected[name] = new ort.Tensor('float32', copy, [rows.length, ...rest]);
    }
    return selected;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
