/**
 * A gradient worker thread: one onnxruntime session of the `accumulate` graph on ONE intra-op
 * thread. Each request is an optimizer step's share of micro-batches; the worker sums their
 * gradients in its own accumulator pair (the graph adds into the fed accumulator, the trainer's
 * double-buffering in miniature) and transfers the sum back. A run is a pure function of its
 * inputs on one thread, so the trainer's fixed-order sum over workers repeats bit for bit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import {
  type CloseRequest,
  fromWire,
  type GradientReply,
  type GradientRequest,
  type GradientWorkerSetup,
} from './gradient-wire.js';
import { EngineSession, type Feeds } from './session.js';

const setup = workerData as GradientWorkerSetup;
const port = parentPort;
if (port === null) throw new Error('gradient-worker.ts runs as a worker thread (see gradient-workers.ts)');

const reply = (message: GradientReply, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

const session = await EngineSession.create(setup.graph, { intraOpNumThreads: 1 }, setup.label);
const frozen = fromWire(setup.frozen);
let spare: Float32Array[] = setup.accumulators.map(({ dims }) => new Float32Array(size(dims)));

function size(dims: readonly number[]): number {
  return dims.reduce((product, dimension) => product * dimension, 1);
}

function tensors(arrays: readonly Float32Array[]): Feeds {
  const feeds: Feeds = {};
  setup.accumulators.forEach(({ input, dims }, index) => {
    feeds[input] = new ort.Tensor('float32', arrays[index]!, dims);
  });
  return feeds;
}

function fetches(arrays: readonly Float32Array[]): Record<string, ort.Tensor | null> {
  const outputs: Record<string, ort.Tensor | null> = { [setup.lossName]: null };
  setup.accumulators.forEach(({ output, dims }, index) => {
    outputs[output] = new ort.Tensor('float32', arrays[index]!, dims);
  });
  return outputs;
}

async function accumulate(request: GradientRequest): Promise<void> {
  let current: Float32Array[] =
    request.buffers ?? setup.accumulators.map(({ dims }) => new Float32Array(size(dims)));
  for (const array of current) array.fill(0);
  const parameters = fromWire(request.parameters);
  let lossSum = 0;
  for (const batch of request.batches) {
    const feeds = { ...fromWire(batch), ...frozen, ...parameters, ...tensors(current) };
    const out = await session.run(feeds, fetches(spare));
    lossSum += Number((out[setup.lossName]!.data as Float32Array)[0]);
    [current, spare] = [spare, current];
  }
  reply(
    { kind: 'gradients', lossSum, accumulated: current },
    current.map((array) => array.buffer as ArrayBuffer),
  );
}

port.on('message', (request: GradientRequest | CloseRequest) => {
  if (request.kind === 'close') {
    void session.release().finally(() => port.close());
    return;
  }
  accumulate(request).catch((error: unknown) =>
    reply({ kind: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
reply({ kind: 'ready' });
