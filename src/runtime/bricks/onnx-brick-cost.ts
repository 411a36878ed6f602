/**
 * Cost metering for an ONNX brick's calls: the wall and CPU time a generation took, its usage,
 * FLOPs (≈ 2 × parameters × tokens, cost-meter.ts) and dollars at the configured $/CPU-hour, as
 * one BrickCallReport; and two calls (a greedy pass and its replacement samples) reported as one.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import type { GenerationResult } from '../generation/generate.js';
import { estimateFlops } from '../cost-meter.js';
import type { BrickCallReport } from './brick.js';

/** A clock of CPU milliseconds. */
export type CpuClock = () => number;

/** CPU milliseconds this process has used (user and system), every thread included. */
export function processCpuMilliseconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * A clock of the calling thread's own CPU milliseconds, from Linux's /proc/thread-self/schedstat
 * (nanoseconds on the CPU; the file is opened by, and so describes, the thread that calls this), or
 * undefined where there is no such file. Node 20 has no per-thread CPU clock of its own.
 */
export function threadCpuClock(): CpuClock | undefined {
  let descriptor: number;
  try {
    descriptor = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return undefined;
  }
  const buffer = Buffer.alloc(128);
  const read = (): number => {
    const length = readSync(descriptor, buffer, 0, buffer.length, 0);
    return Number(buffer.toString('latin1', 0, length).split(' ')[0]) / 1e6;
  };
  if (!Number.isFinite(read())) {
    closeSync(descriptor);
    return undefined;
  }
  return read;
}

let workerClock: CpuClock | undefined;

/**
 * The clock a brick's calls are charged by. A worker thread whose onnxruntime session runs on one
 * thread (the calling one: dnc's serve and eval workers) counts its own CPU time: the process's
 * would charge each call the other workers' time as well (measured in `dnc serve` with 2 workers:
 * a batch of one row took 21.8 ms of wall time and was charged 41 ms of CPU). Elsewhere (the main
 * thread, or onnxruntime's own thread pool doing the work) the process's time is the call's.
 */
export function cpuClockFor(intraOpNumThreads: number | undefined): CpuClock {
  if (isMainThread || intraOpNumThreads !== 1) return processCpuMilliseconds;
  workerClock ??= threadCpuClock() ?? processCpuMilliseconds;
  return workerClock;
}

/** The clocks of one call, started before it generates. */
export class CallMeter {
  private readonly started = performance.now();
  private readonly cpuStarted: number;

  constructor(private readonly cpuClock: CpuClock = processCpuMilliseconds) {
    this.cpuStarted = cpuClock();
  }

  /** Wall and CPU milliseconds since the meter started. */
  elapsed(): { latencyMs: number; cpuMs: number } {
    return { latencyMs: performance.now() - this.started, cpuMs: this.cpuClock() - this.cpuStarted };
  }
}

export interface GenerationReportInput {
  /** The rows of one generation; the first one's text and finish reason are the call's. */
  results: readonly GenerationResult[];
  /** The call's wall and CPU milliseconds: its meter's `elapsed()`, or its share of a batch's. */
  times: { latencyMs: number; cpuMs: number };
  /** The brick's parameter count (for FLOPs). */
  parameters: number;
  /** Dollars for CPU milliseconds. */
  costOf: (cpuMs: number) => number;
  warnings: string[];
}

/** One call's report from the rows it generated: usage summed over them, time from the meter. */
export function generationReport(input: GenerationReportInput): BrickCallReport {
  const { results } = input;
  const { latencyMs, cpuMs } = input.times;
  const usage = {
    inputTokens: results.reduce((sum, result) => sum + result.promptTokenCount, 0),
    outputTokens: results.reduce((sum, result) => sum + result.generatedTokenCount, 0),
  };
  const first = results[0]!;
  return {
    usage,
    latencyMs,
    costUsd: input.costOf(cpuMs),
    flops: estimateFlops(input.parameters, usage.inputTokens + usage.outputTokens),
    cpuMs,
    raw: first.text ?? '',
    warnings: input.warnings,
    finishReason: first.finishReason === 'length' ? 'length' : 'stop',
    rawFinishReason: first.finishReason,
  };
}

/**
 * Two calls reported as one: usage, time and dollars add up; `raw` is the text that was kept, and
 * `warning` (when given) says why the second call was made.
 */
export function combineReports(
  first: BrickCallReport,
  second: BrickCallReport,
  kept: { raw: string; warning?: string },
): BrickCallReport {
  return {
    ...first,
    usage: {
      inputTokens: first.usage.inputTokens + second.usage.inputTokens,
      outputTokens: first.usage.outputTokens + second.usage.outputTokens,
    },
    latencyMs: first.latencyMs + second.latencyMs,
    costUsd: first.costUsd + second.costUsd,
    flops: (first.flops ?? 0) + (second.flops ?? 0),
    cpuMs: (first.cpuMs ?? 0) + (second.cpuMs ?? 0),
    raw: kept.raw,
    warnings: [...first.warnings, ...second.warnings, ...(kept.warning === undefined ? [] : [kept.warning])],
  };
}
