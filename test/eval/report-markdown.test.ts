import { describe, expect, it } from 'vitest';
import { aggregateReport } from '../../src/eval/aggregate.js';
import { formatDollars, renderMarkdownReport, renderPaperTable } from '../../src/eval/report-markdown.js';
import type { ReportResult } from '../../src/eval/report-schema.js';
import { syntheticChains, syntheticTraces } from './synthetic-traces.js';

const traces = syntheticTraces(30);
const report = aggregateReport({ suite: 'synthetic', chains: syntheticChains, traces });
const markdown = renderMarkdownReport(report, traces);

/** The rows of the first Markdown table after `heading`, as arrays of trimmed cells. */
function tableAfter(text: string, heading: string): string[][] {
  const lines = text.slice(text.indexOf(heading)).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
  }
  return [rows[0]!, ...rows.slice(2)]; // header, then body (skip the --- line)
}

const chainName = (label: string) => label.replace(/ †$/, '');
const find = (chain: string, dataset: string): ReportResult =>
  report.results.find((result) => result.chain === chain && result.dataset === dataset)!;
/** Printed with three significant digits: within 0.5% of the JSON value (exact for 0). */
const closeDollars = (printed: string, value: number) => {
  expect(Math.abs(Number.parseFloat(printed) - value)).toBeLessThanOrEqual(Math.abs(value) * 0.005);
};

describe('report.md agrees with report.json', () => {
  it('prints every paper-table cell from the aggregated result', () => {
    const [header, ...rows] = tableAfter(markdown, '## Accuracy and cost');
    const datasets = header!.slice(3);
    expect(datasets).toEqual(['hops', 'math']);
    expect(rows.map((row) => chainName(row[0]!))).toEqual(syntheticChains.map((chain) => chain.name));
    let cells = 0;
    for (const row of rows) {
      datasets.forEach((dataset, column) => {
        const match = /^([\d.]+) \(±([\d.]+)\) · \$([^/]+)\/\$(\S+)( ★)?$/.exec(row[3 + column]!);
        expect(match, row[3 + column]).not.toBeNull();
        const result = find(chainName(row[0]!), dataset);
        expect(Number(match![1])).toBeCloseTo(result.score * 100, 1);
        expect(Number(match![2])).toBeCloseTo(((result.ci95[1] - result.ci95[0]) / 2) * 100, 1);
        closeDollars(match![3]!, result.costUsd.decompose);
        closeDollars(match![4]!, result.costUsd.solve);
        expect(match![5] !== undefined).toBe(result.paretoOptimal);
        cells += 1;
      });
      expect(row[0]!.endsWith('†')).toBe(find(chainName(row[0]!), 'hops').simulated);
    }
    expect(cells).toBe(report.results.length);
  });

  it('prints every detail row from the aggregated result', () => {
    const [header, ...rows] = tableAfter(markdown, '## Details');
    expect(header).toContain('$ saved');
    expect(rows).toHaveLength(report.results.length);
    for (const row of rows) {
      const result = find(chainName(row[0]!), row[1]!);
      expect(Number(row[2])).toBe(result.n);
      expect(Number(row[3])).toBeCloseTo(result.score * 100, 1);
      const [low, high] = row[4]!.split('–').map(Number);
      expect(low).toBeCloseTo(result.ci95[0] * 100, 1);
      expect(high).toBeCloseTo(result.ci95[1] * 100, 1);
      closeDollars(row[5]!, result.costUsd.decompose);
      closeDollars(row[6]!, result.costUsd.solve);
      closeDollars(row[7]!, result.costUsd.total);
      closeDollars(row[8]!, result.costPerExampleUsd!.total);
      closeDollars(row[9]!, result.savedUsd);
      expect(row[10]).toBe(`${result.tokens.decompose.input}/${result.tokens.decompose.output}`);
      expect(row[11]).toBe(`${result.tokens.solve.input}/${result.tokens.solve.output}`);
      expect(row[12]).toBe(`${Math.round(result.latencyMs.p50)}/${Math.round(result.latencyMs.p95)}`);
    }
  });

  it('labels the reference price as simulated and lists the Pareto frontier', () => {
    expect(markdown).toMatch(/SIMULATED/);
    expect(markdown).toMatch(/- hops: student\/student .* → student\/ref/);
    expect(markdown).toMatch(/mean over all datasets/);
  });

  it('shows sample failures with their sub-questions when traces are given', () => {
    expect(markdown).toContain('## Sample failures');
    expect(markdown).toMatch(
      /\*\*student\/ref\*\* on hops `hops-\d+` \((wrong-answer|unanswerable-subquestion)\)/,
    );
    expect(renderMarkdownReport(report)).not.toContain('## Sample failures');
  });

  it('renders the compact paper table with aligned columns', () => {
    const table = renderPaperTable(report);
    const lines = table.split('\n').filter((line) => line.startsWith('|'));
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
    expect(table).toMatch(/Cells: score %/);
  });
});

describe('formatDollars', () => {
  it('keeps three significant digits below a dollar and cents above', () => {
    expect(formatDollars(0)).toBe('0');
    expect(formatDollars(0.000123456)).toBe('0.000123');
    expect(formatDollars(12.345)).toBe('12.35');
    expect(formatDollars(1.5e-8)).toBe('1.50e-8');
  });
});
