/**
 * `report.html`: one self-contained page (inline CSS and SVG; no scripts, fonts or other
 * files) that opens from disk without a server. It shows the same tables as `report.md`,
 * built from the same `Report` object with the same formatters, and the two plots.
 */
import { expertTokensNote } from './expert-heatmap.js';
import type { ReportPlots } from './plots.js';
import {
  decompositionHeader,
  decompositionRows,
  detailHeader,
  detailRow,
  isSimulated,
  paperTable,
  paperTableLegend,
  paretoLines,
  sampleFailures,
  simulatedNote,
} from './report-markdown.js';
import type { Report } from './report-schema.js';
import type { Trace } from './trace-schema.js';

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * Prefixes every `id` of an SVG (and the `url(#…)`/`href="#…"` references to them): Vega
 * numbers its clip paths from 1 in every SVG, and two inline SVGs with the same ids in one
 * page would clip each other's marks.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[], className = ''): string {
  const head = `<tr>${header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`);
  return `<table${className === '' ? '' : ` class="${className}"`}>\n<thead>${head}</thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}

/** Markdown backticks of the shared notes → <code>, after escaping. */
function inlineCode(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function failureItem(trace: Trace): string {
  const steps = trace.subquestions
    .map(
      (question, index) =>
        `<li>${escapeHtml(question)} → <b>${escapeHtml(trace.subanswers[index] ?? '(no answer)')}</b></li>`,
    )
    .join('');
  const error = trace.error === undefined ? '' : `: ${escapeHtml(trace.error)}`;
  return (
    `<li><b>${escapeHtml(trace.chain)}</b> on ${escapeHtml(trace.dataset)} <code>${escapeHtml(trace.exampleId)}</code> ` +
    `<span class="failure">${escapeHtml(trace.failure)}${error}</span>: ${escapeHtml(trace.question)}` +
    `${steps === '' ? '' : `<ol>${steps}</ol>`}` +
    `<div>answer <code>${escapeHtml(trace.answer)}</code>, gold <code>${escapeHtml(trace.gold)}</code></div></li>`
  );
}

const style = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem; color: #1a1a1a; max-width: 1400px; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; white-space: nowrap; }
th { background: #f3f3f3; } tbody tr:nth-child(even) { background: #fafafa; }
.paper td { font-variant-numeric: tabular-nums; }
.legend, .note { font-size: 0.85rem; color: #444; max-width: 70rem; }
.plots { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
.plots figure { margin: 0; } .scroll { overflow-x: auto; }
.failure { color: #a00; } code { background: #f3f3f3; padding: 0 0.2rem; }
`;

/** The whole `report.html`, given the report, its rendered plots and (optionally) the traces. */
export function renderHtmlReport(report: Report, plots: ReportPlots, traces?: readonly Trace[]): string {
  const paper = paperTable(report);
  const decomposition = decompositionRows(report);
  const failures = traces === undefined ? [] : sampleFailures(traces);
  const sections = [
    `<h1>Eval report: ${escapeHtml(report.suite)}</h1>`,
    `<h2>Accuracy and cost</h2>`,
    `<div class="scroll">${htmlTable(paper.header, paper.rows, 'paper')}</div>`,
    `<p class="legend">${escapeHtml(paperTableLegend)}</p>`,
    `<h2>Plots</h2>`,
    `<div class="plots">`,
    `<figure id="accuracy-vs-cost">${prefixSvgIds(plots.accuracyVersusCost, 'accuracy-vs-cost')}</figure>`,
    `<figure id="scores-by-dataset">${prefixSvgIds(plots.scoresByDataset, 'scores-by-dataset')}</figure>`,
    `</div>`,
    `<h2>Details</h2>`,
    `<p class="note">Dollars are totals over the n examples unless marked "/ example"; tokens are totals.</p>`,
    `<div class="scroll">${htmlTable(detailHeader, report.results.map(detailRow), 'details')}</div>`,
  ];
  if (decomposition.length > 0) {
    sections.push(
      `<h2>Decomposition against gold</h2>`,
      htmlTable(decompositionHeader, decomposition, 'decomposition'),
    );
  }
  sections.push(
    `<h2>Pareto frontier (cost per example vs score)</h2>`,
    `<ul>${paretoLines(report)
      .map((line) => `<li>${escapeHtml(line)}</li>`)
      .join('')}</ul>`,
  );
  if (plots.expertsByDataset !== undefined)
    sections.push(
      `<h2>Expert routing (mixture-of-experts decomposers)</h2>`,
      `<p class="note">${escapeHtml((report.experts ?? []).map((brick) => `${brick.decomposer}: ${expertTokensNote(brick)}`).join('; '))}. Entropy and utilization per layer are in report.json and report.md.</p>`,
      `<figure id="experts-by-dataset">${prefixSvgIds(plots.expertsByDataset, 'experts-by-dataset')}</figure>`,
    );
  if (report.results.some(isSimulated))
    sections.push(`<h2>Prices</h2>`, `<p class="note">${inlineCode(simulatedNote)}</p>`);
  if (failures.length > 0)
    sections.push(`<h2>Sample failures</h2>`, `<ul>${failures.map(failureItem).join('\n')}</ul>`);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Eval report: ${escapeHtml(report.suite)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    ...sections,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
