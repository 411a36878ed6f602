/**
 * The report's plots, as Vega-Lite specs compiled to Vega and rendered to SVG in Node
 * (`renderer: 'none'`, no canvas, no browser):
 * - accuracy against total cost per example, one panel per dataset (plus the mean over
 *   datasets when there are several), the Pareto frontier drawn as a line with its points ringed,
 *   and each cascade's threshold curve (threshold → score, cost per example) as a thin line;
 * - per-dataset grouped bars of score by chain with 95% interval error bars;
 * - with mixture-of-experts decomposers (`report.experts`), a dataset × expert heatmap of the
 *   share of routed tokens per layer (src/eval/expert-heatmap.ts).
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { costScorePoint } from './aggregate.js';
import { expertHeatmapSpec } from './expert-heatmap.js';
import { averageAcrossGroups, paretoFrontier } from './pareto.js';
import type { Report } from './report-schema.js';

/** Panel name of the frontier averaged over datasets. */
export const meanPanel = 'mean over datasets';

export interface CostAxis {
  type: 'linear' | 'log' | 'symlog';
  /** For `symlog`: the width of the linear region around zero. */
  constant?: number;
}

/**
 * Chooses the x scale for costs: linear unless positive costs span two decades or more;
 * then log, or symlog (linear near zero) when some cost is exactly $0, which a log scale
 * cannot place.
 */
export function chooseCostAxis(costs: readonly number[]): CostAxis {
  const positive = costs.filter((cost) => cost > 0);
  if (positive.length === 0) return { type: 'linear' };
  const smallest = Math.min(...positive);
  const span = Math.max(...positive) / smallest;
  if (span < 100) return { type: 'linear' };
  return costs.includes(0) ? { type: 'symlog', constant: smallest } : { type: 'log' };
}

/** Tick values at powers of ten covering the positive costs (and 0 when a cost is $0). */
function decadeTicks(rows: readonly CostRow[]): number[] {
  const positive = rows.map((row) => row.cost).filter((cost) => cost > 0);
  const first = Math.floor(Math.log10(Math.min(...positive)));
  const last = Math.ceil(Math.log10(Math.max(...positive)));
  const ticks = Array.from({ length: last - first + 1 }, (_, index) => Number(`1e${first + index}`));
  return rows.some((row) => row.cost === 0) ? [0, ...ticks] : ticks;
}

interface CostRow {
  panel: string;
  chain: string;
  cost: number;
  score: number;
  frontier: boolean;
}

/** The points of the accuracy-vs-cost plot, with frontier flags per panel. */
export function costRows(report: Report): CostRow[] {
  const rows: CostRow[] = report.results.map((result) => ({
    panel: result.dataset,
    chain: result.chain,
    ...costScorePoint(result),
    frontier: result.paretoOptimal ?? false,
  }));
  const datasets = new Set(report.results.map((result) => result.dataset));
  if (datasets.size > 1) {
    const averaged = averageAcrossGroups(
      rows,
      (row) => row.chain,
      (row) => row.panel,
    );
    const frontier = new Set(paretoFrontier(averaged));
    for (const point of averaged) {
      rows.push({
        panel: meanPanel,
        chain: point.key,
        cost: point.cost,
        score: point.score,
        frontier: frontier.has(point),
      });
    }
  }
  return rows;
}

/** The cascades' threshold curves as rows of the accuracy-vs-cost plot (one line per cascade × dataset). */
export function cascadeCurveRows(report: Report): (CostRow & { curve: true; order: number })[] {
  return (report.cascades ?? []).flatMap((cascade) =>
    cascade.curve.map((point, order) => ({
      panel: cascade.dataset,
      chain: `${cascade.chain} (threshold curve)`,
      cost: point.costPerExampleUsd,
      score: point.score,
      frontier: false,
      curve: true as const,
      order,
    })),
  );
}

export function accuracyVersusCostSpec(report: Report): TopLevelSpec {
  const rows = [...costRows(report), ...cascadeCurveRows(report)];
  const axis = chooseCostAxis(rows.map((row) => row.cost));
  const x = {
    field: 'cost',
    type: 'quantitative' as const,
    title: `Total cost per example (USD${axis.type === 'linear' ? '' : `, ${axis.type} scale`})`,
    scale:
      axis.type === 'linear'
        ? { type: axis.type, zero: true, padding: 12 }
        : {
            type: axis.type,
            padding: 12,
            nice: axis.type === 'log',
            ...(axis.constant === undefined ? {} : { constant: axis.constant }),
          },
    axis: {
      format: '$~g',
      labelOverlap: true,
      ...(axis.type === 'linear' ? { tickCount: 5 } : { values: decadeTicks(rows) }),
    },
  };
  const y = {
    field: 'score',
    type: 'quantitative' as const,
    title: 'Score',
    scale: { domain: [0, 1] },
    axis: { format: '.0%' },
  };
  const color = { field: 'chain', type: 'nominal' as const, title: 'Chain', sort: null };
  const frontierOnly = { filter: 'datum.frontier' };
  const chainPoints = { filter: '!datum.curve' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Accuracy against cost', subtitle: 'Pareto frontier: dashed line, ringed points' },
    data: { values: rows },
    facet: { field: 'panel', type: 'nominal', title: null, sort: null },
    columns: 2,
    spec: {
      width: 320,
      height: 240,
      layer: [
        {
          transform: [frontierOnly],
          mark: { type: 'line', color: '#444', strokeDash: [5, 3], strokeWidth: 1.5 },
          encoding: { x, y, order: { field: 'cost', type: 'quantitative' } },
        },
        {
          transform: [{ filter: 'datum.curve' }],
          mark: { type: 'line', strokeWidth: 1, opacity: 0.7, point: { size: 12 } },
          encoding: { x, y, color, order: { field: 'order', type: 'quantitative' } },
        },
        {
          transform: [chainPoints],
          mark: { type: 'point', filled: true, size: 90, opacity: 0.9 },
          encoding: { x, y, color, shape: color },
        },
        {
          transform: [frontierOnly],
          mark: { type: 'point', filled: false, size: 300, color: '#222', strokeWidth: 1.5 },
          encoding: { x, y },
        },
        {
          // Only frontier points are labelled: labelling every point makes close ones unreadable.
          transform: [frontierOnly],
          mark: { type: 'text', align: 'left', dx: 10, dy: -9, fontSize: 10, color: '#222' },
          encoding: { x, y, text: { field: 'chain', type: 'nominal' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
    config: { font: 'sans-serif' },
  };
}

export function scoresByDatasetSpec(report: Report): TopLevelSpec {
  const rows = report.results.map((result) => ({
    dataset: result.dataset,
    chain: result.chain,
    score: result.score,
    low: result.ci95[0],
    high: result.ci95[1],
  }));
  const chains = new Set(rows.map((row) => row.chain)).size;
  const datasets = new Set(rows.map((row) => row.dataset)).size;
  const x = {
    field: 'dataset',
    type: 'nominal' as const,
    title: 'Dataset',
    sort: null,
    axis: { labelAngle: 0 },
  };
  const xOffset = { field: 'chain', type: 'nominal' as const, sort: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Score by dataset', subtitle: 'error bars: 95% bootstrap interval' },
    data: { values: rows },
    width: Math.max(240, datasets * Math.max(1, chains) * 26),
    height: 260,
    encoding: { x, xOffset },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y: {
            field: 'score',
            type: 'quantitative',
            title: 'Score',
            scale: { domain: [0, 1] },
            axis: { format: '.0%' },
          },
          color: { field: 'chain', type: 'nominal', title: 'Chain', sort: null },
        },
      },
      {
        mark: { type: 'rule', color: '#222', strokeWidth: 1.5 },
        encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } },
      },
    ],
    config: { font: 'sans-serif' },
  };
}

/** Compiles a Vega-Lite spec and renders it to an SVG string, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface ReportPlots {
  accuracyVersusCost: string;
  scoresByDataset: string;
  /** Present when the report has mixture-of-experts decomposers (`report.experts`). */
  expertsByDataset?: string;
}

export async function renderReportPlots(report: Report): Promise<ReportPlots> {
  const experts = (report.experts ?? []).length > 0;
  return {
    accuracyVersusCost: await renderSvg(accuracyVersusCostSpec(report)),
    scoresByDataset: await renderSvg(scoresByDatasetSpec(report)),
    ...(experts ? { expertsByDataset: await renderSvg(expertHeatmapSpec(report)) } : {}),
  };
}
