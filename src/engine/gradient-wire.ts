/**
 * The messages between the trainer and its gradient workers (gradient-workers.ts, gradient-worker.ts).
 * onnxruntime-node rejects typed arrays over a SharedArrayBuffer ("Invalid argument"), so tensors
 * cross as plain `{ name, type, data, dims }` records: cloned on the way in (parameters, batches),
 * transferred on the way out (the accumulated gradients, whose buffers go back with the next request).
 */
import * as ort from 'onnxruntime-node';
import { type Feeds } from './session.js';

export interface WireTensor {
  name: string;
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

/** Sent once, when a worker starts (its `workerData`). */
export interface GradientWorkerSetup {
  /** The serialized `accumulate` graph (training-graphs.ts). */
  graph: Uint8Array;
  /** Frozen inputs, copied once into the worker (fed to every run). */
  frozen: WireTensor[];
  /** Each accumulator's graph input name (`accumulated.NAME`), output name and shape, in order. */
  accumulators: { input: string; output: string; dims: readonly number[] }[];
  lossName: string;
  label: string;
}

/** One optimizer step's share: the micro-batches this worker sums, at the given parameters. */
export interface GradientRequest {
  kind: 'gradients';
  batches: WireTensor[][];
  parameters: WireTensor[];
  /** The accumulator buffers of the previous reply, handed back for reuse (absent: allocate). */
  buffers?: Float32Array[];
}

/** Release the session and exit (a worker terminated with a live onnxruntime session can abort the process). */
export interface CloseRequest {
  kind: 'close';
}

export type GradientReply =
  | { kind: 'ready' }
  | { kind: 'gradients'; lossSum: number; accumulated: Float32Array[] }
  | { kind: 'error'; message: string };

export function toWire(feeds: Feeds): WireTensor[] {
  return Object.entries(feeds).map(([name, value]) => ({
    name,
    type: value.type,
    data: value.data,
    dims: value.dims,
  }));
}

export function fromWire(tensors: readonly WireTensor[]): Feeds {
  const feeds: Feeds = {};
  for (const wire of tensors) feeds[wire.name] = new ort.Tensor(wire.type, wire.data as never, wire.dims);
  return feeds;
}
