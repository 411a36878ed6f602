/**
 * The CPU clock a local brick's calls are charged by: a thread's own time, not the process's, so
 * that two workers decoding side by side are not each charged for both.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  cpuClockFor,
  processCpuMilliseconds,
  threadCpuClock,
} from '../../src/runtime/bricks/onnx-brick-cost.js';

/** Spins until `milliseconds` of wall time have passed. */
function spin(milliseconds: number): void {
  const until = performance.now() + milliseconds;
  let sink = 0;
  while (performance.now() < until) sink += Math.sqrt(sink + 1);
  if (sink < 0) throw new Error('unreachable');
}

/** A worker that spins until told to stop; resolves once it is spinning. */
async function spinningWorker(): Promise<{ stop: () => Promise<void> }> {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     parentPort.postMessage('spinning');
     let sink = 0;
     while (Atomics.load(workerData, 0) === 0) sink += Math.sqrt(sink + 1);
     parentPort.postMessage(sink);`,
    { eval: true, workerData: stopFlag },
  );
  await new Promise((resolve) => worker.once('message', resolve));
  return {
    stop: async () => {
      Atomics.store(stopFlag, 0, 1);
      await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
    },
  };
}

const clock = threadCpuClock();

describe('thread CPU clock', () => {
  it.skipIf(clock === undefined)(
    "counts the calling thread's time only, while the process's counts another busy thread too",
    async () => {
      const other = await spinningWorker();
      try {
        const threadStarted = clock!();
        const processStarted = processCpuMilliseconds();
        spin(200);
        const thread = clock!() - threadStarted;
        const process = processCpuMilliseconds() - processStarted;
        // This thread ran at most the 200 ms it spun; the process also ran the worker meanwhile.
        expect(thread).toBeGreaterThan(0);
        expect(thread).toBeLessThanOrEqual(210);
        expect(process).toBeGreaterThan(thread * 1.3);
      } finally {
        await other.stop();
      }
    },
  );

  it("charges the main thread's calls by the process's clock (onnxruntime may use threads of its own)", () => {
    expect(cpuClockFor(1)).toBe(processCpuMilliseconds);
    expect(cpuClockFor(undefined)).toBe(processCpuMilliseconds);
  });
});

if (clock === undefined) console.log('thread CPU clock test skipped: no /proc/thread-self/schedstat here');
