import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregateReport } from '../../src/eval/aggregate.js';
import { chooseCostAxis, renderReportPlots } from '../../src/eval/plots.js';
import { escapeHtml, prefixSvgIds, renderHtmlReport } from '../../src/eval/report-html.js';
import { reportSchema } from '../../src/eval/report-schema.js';
import { writeReports } from '../../src/eval/write-reports.js';
import { brickCost, syntheticChains, syntheticTraces } from './synthetic-traces.js';

const traces = syntheticTraces(20);
const report = aggregateReport({ suite: 'synthetic <suite>', chains: syntheticChains, traces });
const plots = await renderReportPlots(report);

/** How many SVG marks carry this ARIA role description (`point`, `bar`, `rule mark`, `line mark`). */
export function countMarks(svg: string, role: string): number {
  return svg.split(`aria-roledescription="${role}"`).length - 1;
}

describe('plots', () => {
  it('draws every result as a point, rings the frontier points and draws one frontier line per panel', () => {
    const svg = plots.accuracyVersusCost;
    expect(svg.startsWith('<svg')).toBe(true);
    const frontier = report.results.filter((result) => result.paretoOptimal).length; // 5
    // Points: 10 results + 5 chain means; rings: 5 dataset frontier points + 3 on the mean frontier.
    expect(countMarks(svg, 'point')).toBe(10 + 5 + frontier + 3);
    expect(countMarks(svg, 'line mark')).toBe(3);
    expect(svg).toContain('log scale');
    expect(svg).not.toContain('NaN');
  });

  it('draws one bar and one interval rule per result', () => {
    expect(countMarks(plots.scoresByDataset, 'bar')).toBe(report.results.length);
    expect(countMarks(plots.scoresByDataset, 'rule mark')).toBe(report.results.length);
    expect(plots.scoresByDataset).toContain('Dataset: math; Score: 85%; chain: ref/ref');
  });

  it('chooses linear, log or symlog cost axes', () => {
    expect(chooseCostAxis([0.001, 0.002, 0.01])).toEqual({ type: 'linear' });
    expect(chooseCostAxis([0, 0.002, 0.01])).toEqual({ type: 'linear' });
    expect(chooseCostAxis([0.00001, 0.01])).toEqual({ type: 'log' });
    expect(chooseCostAxis([0, 0.00001, 0.01])).toEqual({ type: 'symlog', constant: 0.00001 });
    expect(chooseCostAxis([0, 0])).toEqual({ type: 'linear' });
  });

  it('places a $0 chain on a symlog axis without NaN', async () => {
    const free = traces.map((trace) =>
      trace.chain === 'single/ref'
        ? {
            ...trace,
            cost: {
              decompose: brickCost(trace.cost.decompose.brick, { costUsd: 0 }),
              solve: brickCost(trace.cost.solve.brick, { costUsd: 0 }),
            },
          }
        : trace,
    );
    const freeReport = aggregateReport({ suite: 'free', chains: syntheticChains, traces: free });
    const svg = (await renderReportPlots(freeReport)).accuracyVersusCost;
    expect(svg).toContain('symlog scale');
    expect(svg).not.toContain('NaN');
    expect(svg).toMatch(/\$0; Score: 25%; Chain: single\/ref/);
  });
});

describe('report.html', () => {
  const html = renderHtmlReport(report, plots, traces);

  it('is self-contained: inline SVGs, no scripts, external links or fonts', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg/g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|<link|@import|src="http|href="http/);
  });

  it('contains both plots with their marks and the tables', () => {
    expect(html).toContain('<figure id="accuracy-vs-cost"><svg');
    expect(html).toContain('<figure id="scores-by-dataset"><svg');
    expect(countMarks(html, 'point')).toBe(countMarks(plots.accuracyVersusCost, 'point'));
    expect(countMarks(html, 'bar')).toBe(report.results.length);
    expect(html).toContain('<table class="paper">');
    expect(html).toContain('<table class="details">');
    expect(html).toContain('90.0 (±12.5) · $0.000190/$0.0800 ★');
  });

  it('escapes text from the suite and traces', () => {
    expect(html).toContain('Eval report: synthetic &lt;suite&gt;');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('prefixes SVG ids so that two inline plots cannot share a clip path', () => {
    const svg = '<svg><clipPath id="clip1"/><g clip-path="url(#clip1)"/><use href="#clip1"/></svg>';
    expect(prefixSvgIds(svg, 'a')).toBe(
      '<svg><clipPath id="a-clip1"/><g clip-path="url(#a-clip1)"/><use href="#a-clip1"/></svg>',
    );
  });
});

describe('writeReports', () => {
  it('writes report.json (valid, equal to the report), report.md, report.html and both SVGs', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'dnc-report-'));
    const written = await writeReports(join(directory, 'out'), report, traces);
    expect((await readdir(join(directory, 'out'))).sort()).toEqual([
      'accuracy-vs-cost.svg',
      'report.html',
      'report.json',
      'report.md',
      'scores-by-dataset.svg',
    ]);
    const json: unknown = JSON.parse(await readFile(written.json, 'utf8'));
    expect(reportSchema.parse(json)).toEqual(report);
    expect(await readFile(written.accuracyVersusCost, 'utf8')).toMatch(/^<svg/);
    expect(await readFile(written.markdown, 'utf8')).toMatch(/^# Eval report/);
  });

  it('refuses an invalid report before writing anything', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'dnc-report-'));
    const broken = { ...report, results: [{ ...report.results[0]!, score: 1.5 }] };
    await expect(writeReports(directory, broken)).rejects.toThrow(/results\.0\.score/);
    expect(await readdir(directory)).toEqual([]);
  });
});
