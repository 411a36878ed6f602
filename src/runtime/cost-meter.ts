/**
 * The cost meter: sums what brick calls cost, per brick and per stage — tokens, latency,
 * FLOPs and CPU time of local bricks, dollars spent, and dollars saved by cache hits (which
 * spend $0). Spent and saved stay separate everywhere.
 */
import type { BrickKind } from './bricks/brick.js';

export type Stage = 'decompose' | 'solve';
export const stages: readonly Stage[] = ['decompose', 'solve'];

/** One metered call: what a chain step records. */
export interface MeteredCall {
  stage: Stage;
  /** The brick's spec. */
  brick: string;
  kind?: BrickKind;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs: number;
  costUsd: number;
  savedUsd?: number;
  cached?: boolean;
  flops?: number;
  cpuMs?: number;
  simulated?: boolean;
}

export interface CostTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  costUsd: number;
  savedUsd: number;
  cacheHits: number;
  flops: number;
  cpuMs: number;
  /** True when some of the dollars are a simulated price (the reference expert). */
  simulated: boolean;
}

export interface CostRow extends CostTotals {
  stage: Stage;
  brick: string;
}

export interface CostSummary {
  /** One row per (stage, brick) pair, in the order first seen. */
  rows: CostRow[];
  byBrick: Record<string, CostTotals>;
  byStage: Record<Stage, CostTotals>;
  total: CostTotals;
}

export function emptyTotals(): CostTotals {
  return {
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    latencyMs: 0,
    costUsd: 0,
    savedUsd: 0,
    cacheHits: 0,
    flops: 0,
    cpuMs: 0,
    simulated: false,
  };
}

function addCall(totals: CostTotals, call: MeteredCall): void {
  totals.calls += 1;
  totals.inputTokens += call.usage.inputTokens;
  totals.outputTokens += call.usage.outputTokens;
  totals.latencyMs += call.latencyMs;
  totals.costUsd += call.costUsd;
  totals.savedUsd += call.savedUsd ?? 0;
  totals.cacheHits += call.cached === true ? 1 : 0;
  totals.flops += call.flops ?? 0;
  totals.cpuMs += call.cpuMs ?? 0;
  totals.simulated ||= call.simulated === true;
}

export class CostMeter {
  private readonly calls: MeteredCall[] = [];

  add(call: MeteredCall): void {
    this.calls.push(call);
  }

  addAll(calls: Iterable<MeteredCall>): void {
    for (const call of calls) this.add(call);
  }

  summary(): CostSummary {
    const rows = new Map<string, CostRow>();
    const byBrick: Record<string, CostTotals> = {};
    const byStage = { decompose: emptyTotals(), solve: emptyTotals() };
    const total = emptyTotals();
    for (const call of this.calls) {
      const key = `${call.stage}\u0000${call.brick}`;
      let row = rows.get(key);
      if (row === undefined) {
        row = { stage: call.stage, brick: call.brick, ...emptyTotals() };
        rows.set(key, row);
      }
      byBrick[call.brick] ??= emptyTotals();
      for (const totals of [row, byBrick[call.brick], byStage[call.stage], total]) addCall(totals, call);
    }
    return { rows: [...rows.values()], byBrick, byStage, total };
  }
}

/** Floating-point operations of a decoder forward pass over `tokens` tokens: ≈ 2 × parameters × tokens. */
export function estimateFlops(parameterCount: number, tokens: number): number {
  return 2 * parameterCount * tokens;
}

/** Dollars for `cpuMs` of CPU time at `usdPerCpuHour`. */
export function cpuCostUsd(cpuMs: number, usdPerCpuHour: number): number {
  return (cpuMs / 3_600_000) * usdPerCpuHour;
}
