/**
 * `report.md`: the paper-style table (rows: chains; columns: datasets; cells: score ± half
 * of the 95% interval · dollars for decomposition/solving), a per-result detail table,
 * decomposition metrics, the Pareto frontiers, the simulated-price note and, given traces,
 * a few failed examples. Every number comes from the `Report` object that is `report.json`,
 * formatted by the helpers below (which `report-html.ts` shares).
 */
import { basename } from 'node:path';
import { parseBrickSpec } from '../runtime/bricks/brick-spec.js';
import { averageAcrossGroups, paretoFrontier } from './pareto.js';
import { costScorePoint, simulatedBrickSpec } from './aggregate.js';
import { renderCascadeSection } from './cascade-markdown.js';
import { renderExpertRoutingMarkdown } from './expert-heatmap.js';
import type { Report, ReportResult } from './report-schema.js';
import type { Trace } from './trace-schema.js';
import { failureKinds } from './trace-schema.js';

/** A fraction as a percentage with one decimal: 0.905 → `90.5`. */
export function formatPercent(fraction: number): string {
  return (fraction * 100).toFixed(1);
}

/** Dollars without the sign: 0 → `0`, ≥ 1 → two decimals, below 1 → three significant digits. */
export function formatDollars(dollars: number): string {
  if (dollars === 0) return '0';
  if (dollars >= 1) return dollars.toFixed(2);
  return dollars.toPrecision(3);
}

/** Half the width of the 95% interval, as a percentage (the ± of the paper table). */
export function halfWidthPercent(result: ReportResult): string {
  return formatPercent((result.ci95[1] - result.ci95[0]) / 2);
}

export const paretoMark = '★';
export const simulatedMark = '†';

/** The paper-table cell: `90.0 (±6.3) · $0.0002/$0.0800`, with ★ on the Pareto frontier. */
export function paperCell(result: ReportResult): string {
  const cell = `${formatPercent(result.score)} (±${halfWidthPercent(result)}) · $${formatDollars(result.costUsd.decompose)}/$${formatDollars(result.costUsd.solve)}`;
  return result.paretoOptimal === true ? `${cell} ${paretoMark}` : cell;
}

/** Datasets in order of first appearance, and chains (with their first result) likewise. */
export function reportAxes(report: Report): { datasets: string[]; chains: ReportResult[] } {
  const datasets = [...new Set(report.results.map((result) => result.dataset))];
  const chains = new Map<string, ReportResult>();
  for (const result of report.results) if (!chains.has(result.chain)) chains.set(result.chain, result);
  return { datasets, chains: [...chains.values()] };
}

export function isSimulated(result: ReportResult): boolean {
  return (
    result.simulated ?? (result.solver === simulatedBrickSpec || result.decomposer === simulatedBrickSpec)
  );
}

/** The row label of a chain: its name, with † when a brick's price is simulated. */
export function chainLabel(result: ReportResult): string {
  return isSimulated(result) ? `${result.chain} ${simulatedMark}` : result.chain;
}

export function decomposerSolver(result: ReportResult): string {
  const decomposer = result.decomposer === null ? '—' : brickLabel(result.decomposer);
  return `${decomposer} / ${brickLabel(result.solver)}`;
}

/** A brick spec as the tables show it: a brick directory as `onnx:NAME` (its last path part). */
export function brickLabel(spec: string): string {
  if (spec.includes(' → ')) return spec.split(' → ').map(brickLabel).join(' → ');
  if (parseBrickSpec(spec).kind !== 'onnx') return spec;
  return `onnx:${basename(spec.replace(/[\\/]+$/, ''))}`;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** A Markdown table whose columns are padded to equal width, so it also reads in a terminal. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const escaped = [header, ...rows].map((row) => row.map(escapeCell));
  const widths = header.map((_, column) => Math.max(3, ...escaped.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    `| ${widths.map((width, column) => (row[column] ?? '').padEnd(width)).join(' | ')} |`;
  const [head, ...body] = escaped;
  return [line(head!), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...body.map(line)].join(
    '\n',
  );
}

export const paperTableLegend =
  `Cells: score % (± half the 95% bootstrap interval) · total $ spent on the dataset's examples, ` +
  `decomposition/solving. ${paretoMark} on the dataset's Pareto frontier (cost per example vs score). ` +
  `${simulatedMark} price simulated (reference expert).`;

/** Header and rows of the paper-style table: one row per chain, one column per dataset. */
export function paperTable(report: Report): { header: string[]; rows: string[][] } {
  const { datasets, chains } = reportAxes(report);
  const rows = chains.map((chain) => [
    chainLabel(chain),
    decomposerSolver(chain),
    chain.mode,
    ...datasets.map((dataset) => {
      const result = report.results.find((entry) => entry.chain === chain.chain && entry.dataset === dataset);
      return result === undefined ? '—' : paperCell(result);
    }),
  ]);
  return { header: ['Chain', 'Decomposer / solver', 'Mode', ...datasets], rows };
}

/** The compact paper-style table (chains × datasets) with its legend; the pipeline prints it. */
export function renderPaperTable(report: Report): string {
  const { header, rows } = paperTable(report);
  return `${markdownTable(header, rows)}\n\n${paperTableLegend}`;
}

export function failureSummary(result: ReportResult): string {
  if (result.failures === undefined) return '—';
  const parts = failureKinds
    .filter((kind) => kind !== 'none' && (result.failures?.[kind] ?? 0) > 0)
    .map((kind) => `${kind} ${result.failures?.[kind]}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

export const detailHeader = [
  'Chain',
  'Dataset',
  'n',
  'Score %',
  '95% CI %',
  '$ decompose',
  '$ solve',
  '$ total',
  '$ spent / example',
  '$ saved',
  'Tokens decompose in/out',
  'Tokens solve in/out',
  'Latency p50/p95 ms',
  'Failures',
];

export function detailRow(result: ReportResult): string[] {
  return [
    chainLabel(result),
    result.dataset,
    String(result.n),
    formatPercent(result.score),
    `${formatPercent(result.ci95[0])}–${formatPercent(result.ci95[1])}`,
    formatDollars(result.costUsd.decompose),
    formatDollars(result.costUsd.solve),
    formatDollars(result.costUsd.total),
    formatDollars(result.costUsd.total / Math.max(result.n, 1)),
    formatDollars(result.savedUsd),
    `${result.tokens.decompose.input}/${result.tokens.decompose.output}`,
    `${result.tokens.solve.input}/${result.tokens.solve.output}`,
    `${Math.round(result.latencyMs.p50)}/${Math.round(result.latencyMs.p95)}`,
    failureSummary(result),
  ];
}

export const decompositionHeader = [
  'Chain',
  'Dataset',
  'n with gold',
  'Step count agreement %',
  'Mean |Δ steps|',
  'ROUGE-L',
];

/** Rows for the results that have decomposition metrics (none → empty). */
export function decompositionRows(report: Report): string[][] {
  return report.results.flatMap((result) =>
    result.decomposition == null
      ? []
      : [
          [
            chainLabel(result),
            result.dataset,
            String(result.decomposition.n),
            formatPercent(result.decomposition.stepCountAgreement),
            result.decomposition.meanStepDifference.toFixed(2),
            result.decomposition.rougeL.toFixed(3),
          ],
        ],
  );
}

/** One line per dataset naming its frontier chains, plus the frontier of means across datasets. */
export function paretoLines(report: Report): string[] {
  const { datasets } = reportAxes(report);
  const lines = datasets.map((dataset) => {
    const results = report.results.filter((result) => result.dataset === dataset);
    const frontier = paretoFrontier(results.map((result) => ({ ...costScorePoint(result), result })));
    return `${dataset}: ${frontier.map((point) => `${point.result.chain} (${formatPercent(point.score)}%, $${formatDollars(point.cost)}/example)`).join(' → ')}`;
  });
  if (datasets.length > 1) {
    const averaged = averageAcrossGroups(
      report.results.map((result) => ({ ...costScorePoint(result), result })),
      (point) => point.result.chain,
      (point) => point.result.dataset,
    );
    const frontier = paretoFrontier(averaged);
    lines.push(
      `mean over all datasets (chains run on every dataset): ${frontier.length === 0 ? '—' : frontier.map((point) => `${point.key} (${formatPercent(point.score)}%, $${formatDollars(point.cost)}/example)`).join(' → ')}`,
    );
  }
  return lines;
}

export const simulatedNote =
  `${simulatedMark} The \`reference\` brick is the synthetic worlds' symbolic expert: it costs nothing to run. ` +
  'Its dollars are SIMULATED from the `reference` entry of the price table (a large remote model), to show what ' +
  'the same traffic would cost; they are not money spent.';

/** Up to `perResult` failed examples of each chain × dataset. */
export function sampleFailures(traces: readonly Trace[], perResult = 3): Trace[] {
  const taken = new Map<string, number>();
  return traces.filter((trace) => {
    if (trace.correct) return false;
    const key = JSON.stringify([trace.chain, trace.dataset]);
    const count = taken.get(key) ?? 0;
    taken.set(key, count + 1);
    return count < perResult;
  });
}

function failureMarkdown(trace: Trace): string {
  const steps = trace.subquestions.map(
    (question, index) => `   ${index + 1}. ${question} → ${trace.subanswers[index] ?? '(no answer)'}`,
  );
  return [
    `- **${trace.chain}** on ${trace.dataset} \`${trace.exampleId}\` (${trace.failure}${trace.error === undefined ? '' : `: ${trace.error}`}): ${trace.question}`,
    ...steps,
    `   answer \`${trace.answer}\`, gold \`${trace.gold}\``,
  ].join('\n');
}

/** The whole `report.md`. */
export function renderMarkdownReport(report: Report, traces?: readonly Trace[]): string {
  const sections = [
    `# Eval report: ${report.suite}`,
    ...(report.results.length === 0 ? ['No results: no chain produced a trace on any dataset.'] : []),
    `## Accuracy and cost\n\n${renderPaperTable(report)}`,
    `## Details\n\nDollars are totals over the n examples unless marked "/ example"; tokens are totals.\n\n${markdownTable(detailHeader, report.results.map(detailRow))}`,
  ];
  const decomposition = decompositionRows(report);
  if (decomposition.length > 0) {
    sections.push(`## Decomposition against gold\n\n${markdownTable(decompositionHeader, decomposition)}`);
  }
  sections.push(
    `## Pareto frontier (cost per example vs score)\n\n${paretoLines(report)
      .map((line) => `- ${line}`)
      .join('\n')}`,
  );
  const cascades = renderCascadeSection(report);
  if (cascades !== undefined) sections.push(cascades);
  const experts = renderExpertRoutingMarkdown(report);
  if (experts !== undefined) sections.push(experts);
  if (report.results.some(isSimulated)) sections.push(`## Prices\n\n${simulatedNote}`);
  const failures = traces === undefined ? [] : sampleFailures(traces);
  if (failures.length > 0) sections.push(`## Sample failures\n\n${failures.map(failureMarkdown).join('\n')}`);
  return `${sections.join('\n\n')}\n`;
}
