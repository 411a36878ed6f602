/**
 * A thin wrapper over onnxruntime-node's InferenceSession for engine graphs: the model bytes are
 * serialized once; each run validates feeds against the session's input names (listing missing and
 * unexpected names), and a failing run reports every input's name, type and dims.
 *
 * Preallocated outputs: onnxruntime-node accepts `run(feeds, { name: tensor })` and writes the result
 * into the given tensor's buffer (checked by test/engine/session.test.ts), which lets the trainer
 * double-buffer parameters and moments instead of allocating fresh arrays every step.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { type DataType, type TensorData } from './data-type.js';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface EngineSessionOptions {
  /**
   * Threads inside one op. Default: one per core (`os.availableParallelism()`), set explicitly so
   * a run does not depend on onnxruntime's own choice (on this 2-core machine both give the same
   * micro training step, 145–149 ms in interleaved runs).
   */
  intraOpNumThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  executionMode?: 'sequential' | 'parallel';
  /**
   * onnxruntime's CPU arena (default true): freed blocks are kept for reuse instead of returned.
   * Off, each run's intermediate tensors go back to the allocator when freed.
   */
  enableCpuMemArena?: boolean;
  /**
   * Memory pattern planning (default true): onnxruntime plans one block for all of a run's
   * intermediates of a fixed-shape graph, sized at the peak of the whole run.
   */
  enableMemPattern?: boolean;
}

export type Feeds = Record<string, ort.Tensor>;

/** Makes an onnxruntime tensor over `data` (no copy). */
export function tensor(dataType: DataType, data: TensorData, dims: readonly number[]): ort.Tensor {
  const size = dims.reduce((product, dimension) => product * dimension, 1);
  if (data.length !== size) {
    throw new Error(`tensor data has ${data.length} elements but dims [${dims.join(', ')}] need ${size}`);
  }
  return new ort.Tensor(dataType === 'float64' ? 'float64' : dataType, data, dims);
}

export function describeFeeds(feeds: Feeds): string {
  return Object.entries(feeds)
    .map(([name, value]) => `${name}: ${value.type}[${value.dims.join(', ')}]`)
    .join('; ');
}

export class EngineSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly label: string,
  ) {}

  static async create(
    model: Uint8Array,
    options: EngineSessionOptions = {},
    label = 'graph',
  ): Promise<EngineSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      executionMode: options.executionMode ?? 'sequential',
      enableCpuMemArena: options.enableCpuMemArena ?? true,
      enableMemPattern: options.enableMemPattern ?? true,
    };
    sessionOptions.intraOpNumThreads = options.intraOpNumThreads ?? availableParallelism();
    try {
      return new EngineSession(await ort.InferenceSession.create(model, sessionOptions), label);
    } catch (error) {
      throw new Error(`onnxruntime could not load the ${label} model: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Throws listing missing and unexpected feed names, and feeds whose type or rank disagrees. */
  validateFeeds(feeds: Feeds): void {
    const names = new Set(this.session.inputNames);
    const missing = this.session.inputNames.filter((name) => !(name in feeds));
    const unexpected = Object.keys(feeds).filter((name) => !names.has(name));
    const problems: string[] = [];
    if (missing.length > 0) problems.push(`missing inputs: ${missing.join(', ')}`);
    if (unexpected.length > 0) problems.push(`unexpected inputs: ${unexpected.join(', ')}`);
    for (const metadata of this.session.inputMetadata) {
      const feed = feeds[metadata.name];
      if (feed === undefined || !metadata.isTensor) continue;
      const expected = metadata.shape;
      const dimsAgree =
        expected.length === feed.dims.length &&
        expected.every((dimension, axis) => typeof dimension !== 'number' || dimension === feed.dims[axis]);
      if (metadata.type !== feed.type || !dimsAgree) {
        problems.push(
          `input '${metadata.name}' should be ${metadata.type}[${expected.join(', ')}] but is ${feed.type}[${feed.dims.join(', ')}]`,
        );
      }
    }
    if (problems.length > 0) throw new Error(`${this.label}: ${problems.join('; ')}`);
  }

  /**
   * Runs the graph. `fetches` names the outputs wanted, or maps output names to preallocated tensors that
   * receive the results in place (null: let onnxruntime allocate that one).
   */
  async run(feeds: Feeds, fetches?: readonly string[] | Record<string, ort.Tensor | null>): Promise<Feeds> {
    this.validateFeeds(feeds);
    try {
      if (fetches === undefined) return await this.session.run(feeds);
      if (Array.isArray(fetches)) return await this.session.run(feeds, fetches as string[]);
      return await this.session.run(feeds, fetches as Record<string, ort.Tensor | null>);
    } catch (error) {
      throw new Error(
        `${this.label} failed: ${(error as Error).message}\n  inputs: ${describeFeeds(feeds)}`,
        {
          cause: error,
        },
      );
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
