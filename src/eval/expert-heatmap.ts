/**
 * The eval report's view of mixture-of-experts decomposers (`report.experts`): a dataset × expert
 * heatmap of the share of routed tokens, one panel per mixture layer plus the mean over layers,
 * one row of panels per MoE decomposer brick; and the same numbers as a markdown table with each
 * dataset's routing entropy and utilization.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Report, ReportExpertRouting } from './report-schema.js';

/** Panel name of the shares averaged over the mixture layers. */
export const meanLayerPanel = 'mean over layers';

const expertLabel = (expert: number): string => `E${expert}`;
const percent = (share: number): string => `${(100 * share).toFixed(1)}%`;

/** The mean over layers of each expert's share, and of the entropy and utilization. */
export function meanOverLayers(layers: ReportExpertRouting['datasets'][number]['layers']): {
  shares: number[];
  entropy: number;
  utilization: number;
} {
  const count = Math.max(layers.length, 1);
  const experts = layers[0]?.shares.length ?? 0;
  const mean = (read: (layer: (typeof layers)[number]) => number): number =>
    layers.reduce((sum, layer) => sum + read(layer), 0) / count;
  return {
    shares: Array.from({ length: experts }, (_, expert) => mean((layer) => layer.shares[expert])),
    entropy: mean((layer) => layer.entropy),
    utilization: mean((layer) => layer.utilization),
  };
}

interface HeatmapRow {
  decomposer: string;
  dataset: string;
  layer: string;
  expert: string;
  share: number;
  label: string;
}

function heatmapRows(experts: readonly ReportExpertRouting[]): HeatmapRow[] {
  return experts.flatMap((brick) =>
    brick.datasets.flatMap((entry) => {
      const panels = [
        ...entry.layers.map((layer) => ({ layer: `layer ${layer.layer}`, shares: layer.shares })),
        ...(entry.layers.length > 1
          ? [{ layer: meanLayerPanel, shares: meanOverLayers(entry.layers).shares }]
          : []),
      ];
      return panels.flatMap((panel) =>
        panel.shares.map((share, expert) => ({
          decomposer: brick.decomposer,
          dataset: entry.dataset,
          layer: panel.layer,
          expert: expertLabel(expert),
          share,
          label: percent(share),
        })),
      );
    }),
  );
}

/** Dataset × expert heatmap of routed-token shares, faceted by layer (columns) and brick (rows). */
export function expertHeatmapSpec(report: Report): TopLevelSpec {
  const experts = report.experts ?? [];
  const rows = heatmapRows(experts);
  const maximum = Math.max(...experts.map((brick) => brick.experts));
  const tokens = [...new Set(experts.map((brick) => brick.tokens))].join(' / ');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Share of routed tokens per expert, by dataset',
      subtitle: `tokens: ${tokens}; each row of a panel sums to 100%`,
    },
    data: { values: rows },
    facet: {
      row: { field: 'decomposer', type: 'nominal', title: null, sort: null },
      column: { field: 'layer', type: 'nominal', title: null, sort: null },
    },
    spec: {
      width: Math.max(120, maximum * 34),
      height: { step: 26 },
      encoding: {
        x: { field: 'expert', type: 'ordinal', title: 'Expert', sort: null, axis: { labelAngle: 0 } },
        y: { field: 'dataset', type: 'nominal', title: 'Dataset', sort: null },
      },
      layer: [
        {
          mark: { type: 'rect' },
          encoding: {
            color: {
              field: 'share',
              type: 'quantitative',
              title: 'Share',
              scale: { scheme: 'blues', domainMin: 0 },
              legend: { format: '.0%' },
            },
          },
        },
        {
          mark: { type: 'text', fontSize: 9 },
          encoding: {
            text: { field: 'label', type: 'nominal' },
            color: { condition: { test: 'datum.share > 0.35', value: 'white' }, value: '#222' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
    config: { font: 'sans-serif' },
  };
}

/** A note saying which tokens were routed. */
export function expertTokensNote(brick: ReportExpertRouting): string {
  return brick.tokens === 'prompt'
    ? 'tokens: the decompose prompts'
    : 'tokens: the decompose prompts and the decompositions the brick gave (teacher-forced)';
}

/** `## Expert routing`: per MoE decomposer, dataset × expert shares (mean over layers), entropy, utilization. */
export function renderExpertRoutingMarkdown(report: Report): string | undefined {
  const experts = report.experts ?? [];
  if (experts.length === 0) return undefined;
  const parts = ['## Expert routing (mixture-of-experts decomposers)'];
  for (const brick of experts) {
    const header = [
      'dataset',
      'tokens',
      ...Array.from({ length: brick.experts }, (_, expert) => expertLabel(expert)),
      'entropy (nats)',
      'utilization',
    ];
    const rows = brick.datasets.map((entry) => {
      const mean = meanOverLayers(entry.layers);
      return [
        entry.dataset,
        String(entry.tokens),
        ...mean.shares.map(percent),
        mean.entropy.toFixed(3),
        percent(mean.utilization),
      ];
    });
    parts.push(
      `### ${brick.decomposer}\n\n${brick.experts} experts, top-${brick.topK}, ${brick.router} router; ` +
        `shares of routed tokens averaged over ${brick.datasets[0]?.layers.length ?? 0} mixture layers ` +
        `(per layer in report.json and the heatmap); ${expertTokensNote(brick)}.`,
      [
        `| ${header.join(' | ')} |`,
        `| ${header.map(() => '---').join(' | ')} |`,
        ...rows.map((row) => `| ${row.join(' | ')} |`),
      ].join('\n'),
    );
  }
  return parts.join('\n\n');
}
