/**
 * Runs training steps with the engine's graphs. Parameters and AdamW moments live in Float32Arrays
 * between steps; each graph is serialized once. Every state array has a spare twin: a step feeds the
 * current arrays and has onnxruntime write the next values into the spares (preallocated outputs),
 * then the two swap — no allocation and no copy of the state in JavaScript per step.
 *
 * Frozen inputs (a model's `frozen` specs, e.g. a pretrained base under LoRA) are held once, as the
 * caller's own arrays (not copied), wrapped in tensors once and fed to every run: no spare, no
 * moments, no gradient.
 */
import type * as ort from 'onnxruntime-node';
import { type AdamWOptions, optimizerNames } from './optimizer.js';
import { serializeGraph } from './serialize.js';
import { GradientWorkers } from './gradient-workers.js';
import { EngineSession, type EngineSessionOptions, type Feeds, tensor } from './session.js';
import {
  type TrainableModel,
  buildAccumulateGraph,
  buildLossGraph,
  buildStepGraph,
  buildUpdateGraph,
  trainingOutputNames,
} from './training-graphs.js';

export interface TrainerOptions {
  model: TrainableModel;
  /** Initial values for every parameter (copied; the trainer owns its arrays). */
  initialParameters: ReadonlyMap<string, Float32Array>;
  /**
   * Values of the model's frozen inputs, by name. Not copied: the trainer feeds these very arrays,
   * so the caller must not change them while the trainer lives.
   */
  frozenValues?: ReadonlyMap<string, Float32Array>;
  optimizer?: AdamWOptions;
  /** Micro-batches whose gradients are summed per update (1: the fused step graph). */
  microBatches?: number;
  /**
   * Data-parallel worker threads (gradient-workers.ts): each runs an equal share of the step's
   * micro-batches on one onnxruntime thread, and `session` applies to the update alone. Absent: the
   * micro-batches run in this thread's sessions. Must divide `microBatches`.
   */
  workers?: number;
  session?: EngineSessionOptions;
}

/** What the trainer holds between steps (the memory a frozen base saves shows here). */
export interface TrainerMemory {
  /** Float32Arrays of trainable state: parameters, AdamW moments, their spares and accumulators. */
  stateArrays: number;
  /** Floats in those arrays. */
  stateFloats: number;
  /** Frozen arrays fed each step (the caller's, not copied). */
  frozenArrays: number;
  frozenFloats: number;
}

export interface StepResult {
  /** Mean loss over the step's micro-batches (before the update). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
}

/**
 * Two arrays per name: `current` is fed, `spare` receives the next values; `swap` flips them. Without
 * spares (`withSpares` false) only `current` is kept, for arrays something else writes whole.
 */
class DoubleBuffer {
  current = new Map<string, Float32Array>();
  spare = new Map<string, Float32Array>();

  constructor(
    private readonly shapes: ReadonlyMap<string, readonly number[]>,
    private readonly withSpares = true,
  ) {}

  add(name: string, initial: Float32Array): void {
    this.current.set(name, Float32Array.from(initial));
    if (this.withSpares) this.spare.set(name, new Float32Array(initial.length));
  }

  feeds(): Feeds {
    const feeds: Feeds = {};
    for (const [name, array] of this.current) feeds[name] = tensor('float32', array, this.shape(name));
    return feeds;
  }

  fetches(): Record<string, ort.Tensor> {
    const fetches: Record<string, ort.Tensor> = {};
    for (const [name, array] of this.spare)
      fetches[optimizerNames.next(name)] = tensor('float32', array, this.shape(name));
    return fetches;
  }

  swap(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }

  private shape(name: string): readonly number[] {
    const shape = this.shapes.get(name);
    if (shape === undefined) throw new Error(`no shape known for state '${name}'`);
    return shape;
  }
}

export class Trainer {
  private stepCount = 0;
  private lossSession: EngineSession | undefined;

  private constructor(
    private readonly options: TrainerOptions,
    private readonly state: DoubleBuffer,
    private readonly accumulators: DoubleBuffer,
    private readonly sessions: TrainerSessions,
    private readonly frozenFeeds: Feeds,
  ) {}

  static async create(options: TrainerOptions): Promise<Trainer> {
    const { model, microBatches = 1 } = options;
    const shapes = new Map<string, readonly number[]>();
    const state = new DoubleBuffer(shapes);
    // Beside gradient workers the accumulators are only the workers' sum, written whole each step.
    const accumulators = new DoubleBuffer(shapes, options.workers === undefined);
    for (const spec of model.parameters) {
      const initial = options.initialParameters.get(spec.name);
      const size = spec.shape.reduce((product, dimension) => product * dimension, 1);
      if (initial === undefined || initial.length !== size) {
        throw new Error(`initial value for parameter '${spec.name}' is missing or not ${size} long`);
      }
      const zeros = new Float32Array(size);
      for (const name of [
        spec.name,
        optimizerNames.firstMoment(spec.name),
        optimizerNames.secondMoment(spec.name),
      ]) {
        shapes.set(name, spec.shape);
      }
      shapes.set(trainingOutputNames.accumulated(spec.name), spec.shape);
      state.add(spec.name, initial);
      state.add(optimizerNames.firstMoment(spec.name), zeros);
      state.add(optimizerNames.secondMoment(spec.name), zeros);
      if (microBatches > 1 || options.workers !== undefined)
        accumulators.add(trainingOutputNames.accumulated(spec.name), zeros);
    }
    const frozenFeeds = frozenTensors(model, options.frozenValues);
    return new Trainer(options, state, accumulators, await createSessions(options, frozenFeeds), frozenFeeds);
  }

  /** Number of trainable parameter values (frozen inputs excluded). */
  trainableParameterCount(): number {
    return this.options.model.parameters.reduce(
      (sum, spec) => sum + spec.shape.reduce((product, dimension) => product * dimension, 1),
      0,
    );
  }

  /** Arrays and floats held between steps (see `TrainerMemory`). */
  memory(): TrainerMemory {
    const arrays = [
      ...this.state.current.values(),
      ...this.state.spare.values(),
      ...this.accumulators.current.values(),
      ...this.accumulators.spare.values(),
    ];
    const frozen = Object.values(this.frozenFeeds);
    return {
      stateArrays: arrays.length,
      stateFloats: arrays.reduce((sum, array) => sum + array.length, 0),
      frozenArrays: frozen.length,
      frozenFloats: frozen.reduce((sum, value) => sum + value.size, 0),
    };
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** The current value of a parameter (or optimizer moment: `adam_m.NAME`, `adam_v.NAME`). */
  value(name: string): Float32Array {
    const array = this.state.current.get(name);
    if (array === undefined) throw new Error(`no parameter or optimizer state named '${name}'`);
    return array;
  }

  /** Names of the whole training state: every parameter and its two AdamW moments. */
  stateNames(): string[] {
    return [...this.state.current.keys()];
  }

  /**
   * Restores a saved training state (e.g. a checkpoint): copies every parameter and AdamW moment
   * into the trainer's arrays and sets the steps taken, so that the next step continues exactly as
   * the saved run would have (same bias correction, same values).
   */
  restore(values: ReadonlyMap<string, Float32Array>, steps: number): void {
    if (!Number.isInteger(steps) || steps < 0)
      throw new Error(`restore: steps must be a non-negative integer, got ${steps}`);
    for (const [name, array] of this.state.current) {
      const saved = values.get(name);
      if (saved === undefined || saved.length !== array.length)
        throw new Error(`restore: the saved state lacks '${name}' or it is not ${array.length} long`);
    }
    for (const [name, array] of this.state.current) array.set(values.get(name) as Float32Array);
    this.stepCount = steps;
  }

  /** Current parameters by name. */
  parameters(): Map<string, Float32Array> {
    return new Map(this.options.model.parameters.map((spec) => [spec.name, this.value(spec.name)]));
  }

  /** One optimizer update over `batches` (one feed set per micro-batch) at `learningRate`. */
  async step(batches: readonly Feeds[], learningRate: number): Promise<StepResult> {
    const microBatches = this.options.microBatches ?? 1;
    if (batches.length !== microBatches) {
      throw new Error(
        `step got ${batches.length} micro-batches but the trainer was created for ${microBatches}`,
      );
    }
    this.stepCount += 1;
    const schedule: Feeds = {
      [optimizerNames.learningRate]: tensor('float32', Float32Array.of(learningRate), []),
      [optimizerNames.step]: tensor('float32', Float32Array.of(this.stepCount), []),
    };
    const scalarFetches = { [trainingOutputNames.loss]: null, [trainingOutputNames.gradientNorm]: null };
    if (this.sessions.step !== undefined) {
      const feeds = { ...batches[0], ...this.frozenFeeds, ...this.state.feeds(), ...schedule };
      const out = await this.sessions.step.run(feeds, { ...this.state.fetches(), ...scalarFetches });
      this.state.swap();
      return {
        loss: scalar(out, trainingOutputNames.loss),
        gradientNorm: scalar(out, trainingOutputNames.gradientNorm),
      };
    }
    return this.accumulatedStep(batches, schedule);
  }

  private async accumulatedStep(batches: readonly Feeds[], schedule: Feeds): Promise<StepResult> {
    const { update } = this.sessions as Required<Pick<TrainerSessions, 'update'>>;
    const lossTotal = await this.accumulate(batches);
    const gradientScale = {
      [optimizerNames.gradientScale]: tensor('float32', Float32Array.of(1 / batches.length), []),
    };
    const feeds = { ...this.state.feeds(), ...this.accumulators.feeds(), ...schedule, ...gradientScale };
    const out = await update.run(feeds, {
      ...this.state.fetches(),
      [trainingOutputNames.gradientNorm]: null,
    });
    this.state.swap();
    return { loss: lossTotal / batches.length, gradientNorm: scalar(out, trainingOutputNames.gradientNorm) };
  }

  /** Sums the micro-batches' gradients into the accumulators; returns the sum of their losses. */
  private async accumulate(batches: readonly Feeds[]): Promise<number> {
    const { accumulate, workers } = this.sessions;
    const parameters = this.parameterFeeds();
    if (workers !== undefined) {
      const share = batches.length / workers.count; // micro-batches per worker, in order
      const shares = Array.from({ length: workers.count }, (_, index) =>
        batches.slice(index * share, (index + 1) * share),
      );
      return workers.accumulate(shares, parameters, [...this.accumulators.current.values()]);
    }
    if (accumulate === undefined) throw new Error('the trainer has no gradient accumulation session');
    for (const array of this.accumulators.current.values()) array.fill(0);
    let lossTotal = 0;
    for (const batch of batches) {
      const feeds = { ...batch, ...this.frozenFeeds, ...parameters, ...this.accumulators.feeds() };
      const out = await accumulate.run(feeds, {
        ...this.accumulators.fetches(),
        [trainingOutputNames.loss]: null,
      });
      this.accumulators.swap();
      lossTotal += scalar(out, trainingOutputNames.loss);
    }
    return lossTotal;
  }

  private parameterFeeds(): Feeds {
    const all = this.state.feeds();
    return Object.fromEntries(this.options.model.parameters.map((spec) => [spec.name, all[spec.name]]));
  }

  /** The loss on one batch with the current parameters (forward only). */
  async evaluate(batch: Feeds): Promise<number> {
    this.lossSession ??= await EngineSession.create(
      serializeGraph(buildLossGraph(this.options.model)),
      mainSessionOptions(this.options),
      'evaluation',
    );
    const out = await this.lossSession.run({ ...batch, ...this.frozenFeeds, ...this.parameterFeeds() });
    return scalar(out, trainingOutputNames.loss);
  }

  async release(): Promise<void> {
    const sessions = [this.sessions.step, this.sessions.accumulate, this.sessions.update, this.lossSession];
    await Promise.all([...sessions.map((session) => session?.release()), this.sessions.workers?.release()]);
  }
}

interface TrainerSessions {
  /** The fused step (one micro-batch per update). */
  step?: EngineSession;
  /** Gradient accumulation in this thread (several micro-batches, no workers). */
  accumulate?: EngineSession;
  /** Gradient accumulation in worker threads (`TrainerOptions.workers`). */
  workers?: GradientWorkers;
  update?: EngineSession;
}

/**
 * This thread's sessions: beside workers they run on one thread. An idle onnxruntime pool spins for
 * a while after each run, and here it would spin on the cores the workers' next step needs
 * (measured: the workers' share took ~140 ms a step beside a two-thread update, ~116 ms beside a
 * one-thread one); one thread also keeps the gradient norm's and the validation loss's reductions
 * in one order, so the whole run repeats bit for bit.
 */
function mainSessionOptions(options: TrainerOptions): EngineSessionOptions | undefined {
  return options.workers === undefined ? options.session : { ...options.session, intraOpNumThreads: 1 };
}

async function createSessions(options: TrainerOptions, frozen: Feeds): Promise<TrainerSessions> {
  const { model, optimizer = {}, microBatches = 1, workers } = options;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || microBatches % workers !== 0))
    throw new Error(
      `workers (${workers}) must be a positive integer dividing the micro-batches (${microBatches})`,
    );
  const create = (bytes: Uint8Array, label: string) => EngineSession.create(bytes, options.session, label);
  if (workers === undefined && microBatches === 1)
    return { step: await create(serializeGraph(buildStepGraph(model, optimizer)), 'training step') };
  const updateGraph = serializeGraph(buildUpdateGraph(model, optimizer));
  const update = await EngineSession.create(updateGraph, mainSessionOptions(options), 'optimizer update');
  const accumulateGraph = serializeGraph(buildAccumulateGraph(model));
  if (workers === undefined)
    return { update, accumulate: await create(accumulateGraph, 'gradient accumulation') };
  const accumulators = model.parameters.map((spec) => {
    const input = trainingOutputNames.accumulated(spec.name);
    return { input, output: optimizerNames.next(input), dims: spec.shape };
  });
  const setup = { graph: accumulateGraph, accumulators, lossName: trainingOutputNames.loss };
  try {
    return { update, workers: await GradientWorkers.create({ count: workers, setup, frozen }) };
  } catch (error) {
    await update.release();
    throw error;
  }
}

/** One tensor per frozen input over the caller's array (checked against the spec's shape). */
function frozenTensors(model: TrainableModel, values: ReadonlyMap<string, Float32Array> | undefined): Feeds {
  const feeds: Feeds = {};
  for (const spec of model.frozen ?? []) {
    const array = values?.get(spec.name);
    const size = spec.shape.reduce((product, dimension) => product * dimension, 1);
    if (array === undefined || array.length !== size)
      throw new Error(`the value of frozen input '${spec.name}' is missing or not ${size} long`);
    feeds[spec.name] = tensor('float32', array, spec.shape);
  }
  return feeds;
}

function scalar(outputs: Feeds, name: string): number {
  return Number((outputs[name].data as Float32Array)[0]);
}
