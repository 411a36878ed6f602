/**
 * Writes an eval report's files into a directory, each atomically (readers see the old file
 * or the new one): `report.json`, `report.md`, `report.html`, `accuracy-vs-cost.svg` and
 * `scores-by-dataset.svg`. The report is validated first, so a malformed object never
 * reaches disk.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../data/jsonl.js';
import { formatZodError } from '../data/zod-format.js';
import { renderReportPlots } from './plots.js';
import { renderHtmlReport } from './report-html.js';
import { renderMarkdownReport } from './report-markdown.js';
import { reportSchema } from './report-schema.js';
import type { Report } from './report-schema.js';
import type { Trace } from './trace-schema.js';

export const reportFileNames = {
  json: 'report.json',
  markdown: 'report.md',
  html: 'report.html',
  accuracyVersusCost: 'accuracy-vs-cost.svg',
  scoresByDataset: 'scores-by-dataset.svg',
} as const;

/** The heatmap of mixture-of-experts routing, written only when the report has `experts`. */
export const expertsPlotFileName = 'experts-by-dataset.svg';

/** The paths written, keyed like `reportFileNames`. */
export type WrittenReports = Record<keyof typeof reportFileNames, string>;

/**
 * Renders and writes every report file. `traces`, when given, adds a few failed examples
 * per chain × dataset to `report.md` and `report.html`.
 */
export async function writeReports(
  directory: string,
  report: Report,
  traces?: readonly Trace[],
): Promise<WrittenReports> {
  const parsed = reportSchema.safeParse(report);
  if (!parsed.success) {
    throw new Error(`refusing to write an invalid eval report: ${formatZodError(parsed.error)}`);
  }
  const plots = await renderReportPlots(parsed.data);
  const contents: Record<keyof typeof reportFileNames, string> = {
    json: `${JSON.stringify(parsed.data, null, 2)}\n`,
    markdown: renderMarkdownReport(parsed.data, traces),
    html: renderHtmlReport(parsed.data, plots, traces),
    accuracyVersusCost: plots.accuracyVersusCost,
    scoresByDataset: plots.scoresByDataset,
  };
  const written = {} as WrittenReports;
  for (const key of Object.keys(reportFileNames) as (keyof typeof reportFileNames)[]) {
    written[key] = join(directory, reportFileNames[key]);
    await writeFileAtomic(written[key], contents[key]);
  }
  if (plots.expertsByDataset !== undefined)
    await writeFileAtomic(join(directory, expertsPlotFileName), plots.expertsByDataset);
  return written;
}
