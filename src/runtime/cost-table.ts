/** A small text table of a cost summary: one line per stage and brick, then the total. */
import type { CostSummary, CostTotals } from './cost-meter.js';

const columns = [
  'stage',
  'brick',
  'calls',
  'in tok',
  'out tok',
  'latency',
  'FLOPs',
  'CPU',
  'spent $',
  'saved $',
];

export function formatUsd(dollars: number): string {
  if (dollars === 0) return '0';
  return dollars >= 0.01 ? dollars.toFixed(4) : dollars.toFixed(6);
}

export function formatFlops(flops: number): string {
  if (flops === 0) return '-';
  const units: [number, string][] = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  const [scale, prefix] = units.find(([size]) => flops >= size) ?? [1, ''];
  return `${(flops / scale).toPrecision(3)} ${prefix}FLOP`;
}

function formatMs(milliseconds: number): string {
  return milliseconds >= 1000 ? `${(milliseconds / 1000).toFixed(2)} s` : `${milliseconds.toFixed(1)} ms`;
}

function cells(stage: string, brick: string, totals: CostTotals): string[] {
  return [
    stage,
    totals.simulated && brick !== '' ? `${brick}*` : brick,
    String(totals.calls),
    String(totals.inputTokens),
    String(totals.outputTokens),
    formatMs(totals.latencyMs),
    formatFlops(totals.flops),
    totals.cpuMs === 0 ? '-' : formatMs(totals.cpuMs),
    formatUsd(totals.costUsd),
    formatUsd(totals.savedUsd),
  ];
}

export function renderCostTable(summary: CostSummary): string {
  const lines = summary.rows.map((row) => cells(row.stage, row.brick, row));
  lines.push(cells('total', '', summary.total));
  const widths = columns.map((column, index) =>
    Math.max(column.length, ...lines.map((line) => line[index].length)),
  );
  const format = (line: string[]) =>
    line
      .map((cell, index) => (index < 2 ? cell.padEnd(widths[index]) : cell.padStart(widths[index])))
      .join('  ')
      .trimEnd();
  const text = [format(columns), ...lines.map(format)];
  if (summary.total.simulated)
    text.push('* simulated price: the reference expert priced as a large remote model');
  return text.join('\n');
}
