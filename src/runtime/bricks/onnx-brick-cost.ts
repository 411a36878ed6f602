/**
 * Cost metering for an ONNX brick's calls: the wall and CPU time a generation took, its usage,
 * FLOPs (≈ 2 × parameters × tokens, cost-meter.ts) and dollars at the configured $/CPU-hour, as
 * one BrickCallReport; and two calls (a greedy pass and its replacement samples) reported as one.
 */
import type { GenerationResult } from '../generation/generate.js';
import { estimateFlops } from '../cost-meter.js';
import type { BrickCallReport } from './brick.js';

/** CPU milliseconds this process has used (user and system). */
export function cpuMilliseconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The clocks of one call, started before it generates. */
export class CallMeter {
  private readonly started = performance.now();
  private readonly cpuStarted = cpuMilliseconds();

  /** Wall and CPU milliseconds since the meter started. */
  elapsed(): { latencyMs: number; cpuMs: number } {
    return { latencyMs: performance.now() - this.started, cpuMs: cpuMilliseconds() - this.cpuStarted };
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
