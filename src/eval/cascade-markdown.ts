/**
 * The cascade section of `report.md`: per cascade × dataset, who decided, the escalation share,
 * the score and dollars at the chain's threshold against each decomposer alone, the AUROC of
 * every route signal, and the threshold curve thinned to about ten points (report.json has all).
 */
import { basename } from 'node:path';
import type { Report, ReportCascade } from './report-schema.js';

function percent(fraction: number): string {
  return (fraction * 100).toFixed(1);
}

function dollars(value: number): string {
  return value === 0 ? '0' : value.toPrecision(3);
}

function label(spec: string): string {
  return spec.includes('/') ? `onnx:${basename(spec.replace(/[\\/]+$/, ''))}` : spec;
}

function threshold(value: number | string): string {
  return typeof value === 'number' ? value.toPrecision(4) : value === 'Infinity' ? '+∞' : '−∞';
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

function summaryRow(cascade: ReportCascade): string[] {
  const last = cascade.paths.at(-1)!;
  const at = cascade.atThreshold;
  const decided = Object.entries(cascade.decidedBy)
    .map(([spec, count]) => `${label(spec)} ${count}`)
    .join(', ');
  const auroc = Object.entries(cascade.auroc)
    .map(([signal, value]) => `${signal} ${value.auroc === null ? '—' : value.auroc.toFixed(3)}`)
    .join(', ');
  return [
    cascade.chain,
    cascade.dataset,
    `${cascade.signal} ≥ ${threshold(cascade.threshold)}`,
    decided,
    percent(cascade.escalateShare),
    `${percent(at.score)} (alone: ${cascade.paths.map((path) => percent(path.score)).join(' / ')})`,
    `$${dollars(at.decomposeUsdPerExample)} (${percent(last.decomposeUsdPerExample === 0 ? 0 : at.decomposeUsdPerExample / last.decomposeUsdPerExample)}% of ${label(last.brick)})`,
    `$${dollars(at.costPerExampleUsd)}`,
    auroc,
  ];
}

/** About `count` curve points, evenly spread over the curve (both ends kept). */
function thinned<T>(points: readonly T[], count = 10): T[] {
  if (points.length <= count) return [...points];
  const step = (points.length - 1) / (count - 1);
  return [...new Set(Array.from({ length: count }, (_, index) => Math.round(index * step)))].map(
    (index) => points[index]!,
  );
}

export function renderCascadeSection(report: Report): string | undefined {
  const cascades = report.cascades ?? [];
  if (cascades.length === 0) return undefined;
  const summary = table(
    [
      'Cascade',
      'Dataset',
      'Keeps the first when',
      'Decided by',
      'Escalated %',
      'Score % (each decomposer alone)',
      'Decompose $ / question (vs last alone)',
      'Total $ / question',
      'AUROC (first decomposer right)',
    ],
    cascades.map(summaryRow),
  );
  const curves = cascades.map(
    (cascade) =>
      `### ${cascade.chain} on ${cascade.dataset} (${cascade.signal})\n\n${table(
        ['Threshold', 'Escalated %', 'Score %', 'Decompose $ / question', 'Total $ / question'],
        thinned(cascade.curve).map((point) => [
          threshold(point.threshold),
          percent(point.escalateShare),
          percent(point.score),
          dollars(point.decomposeUsdPerExample),
          dollars(point.costPerExampleUsd),
        ]),
      )}`,
  );
  return [
    '## Cascades',
    'Dollars are full prices (a cache hit counts at the price it saved); the curve is computed from each decomposer run once per question (the eval probes), and its probes cost apart from the chain.',
    summary,
    ...curves,
  ].join('\n\n');
}
