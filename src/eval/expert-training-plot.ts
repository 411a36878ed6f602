/**
 * How routing changes over training: the `routing` a mixture-of-experts run's train-log.jsonl holds
 * at each evaluation (per mixture layer, each expert's share of routing slots on the validation
 * set; src/student/moe-metrics.ts) drawn as one line per expert against the step, one panel per
 * layer, with the layer's utilization as a dashed line. `dnc train` writes it beside the log as
 * `routing-over-training.svg` when the log has routing (MoE students with a validation set).
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../data/jsonl.js';
import { trainingFiles } from '../train/training-checkpoint.js';
import { readTrainingLog, type TrainingLogEntry } from '../train/training-log.js';
import { renderSvg } from './plots.js';

export const routingPlotFileName = 'routing-over-training.svg';

interface RoutingRow {
  step: number;
  layer: string;
  series: string;
  value: number;
}

/** One row per (evaluation, layer, expert) share, and one per (evaluation, layer) utilization. */
export function routingRows(entries: readonly TrainingLogEntry[]): RoutingRow[] {
  return entries.flatMap((entry) =>
    'routing' in entry && entry.routing !== undefined
      ? entry.routing.flatMap((layer) => [
          ...layer.shares.map((share, expert) => ({
            step: entry.step,
            layer: `layer ${layer.layer}`,
            series: `E${expert}`,
            value: share,
          })),
          {
            step: entry.step,
            layer: `layer ${layer.layer}`,
            series: 'utilization',
            value: layer.utilization,
          },
        ])
      : [],
  );
}

/** The plot's spec, or undefined when the log has no routing. */
export function routingOverTrainingSpec(entries: readonly TrainingLogEntry[]): TopLevelSpec | undefined {
  const rows = routingRows(entries);
  if (rows.length === 0) return undefined;
  const experts = [...new Set(rows.map((row) => row.series))].filter((series) => series !== 'utilization');
  const palette = [
    '#4c78a8',
    '#f58518',
    '#e45756',
    '#72b7b2',
    '#54a24b',
    '#eeca3b',
    '#b279a2',
    '#ff9da6',
    '#9d755d',
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Routing over training (validation set)',
      subtitle: "each expert's share of routing slots; dashed: utilization (effective experts / E)",
    },
    data: { values: rows },
    facet: { column: { field: 'layer', type: 'nominal', title: null, sort: null } },
    spec: {
      width: 260,
      height: 180,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'Step' },
        y: { field: 'value', type: 'quantitative', title: 'Share', axis: { format: '.0%' } },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          sort: null,
          scale: {
            domain: [...experts, 'utilization'],
            range: [...experts.map((_, index) => palette[index % palette.length]), '#222'],
          },
        },
        strokeDash: {
          condition: { test: "datum.series === 'utilization'", value: [4, 3] },
          value: [1, 0],
        },
      },
    },
    config: { font: 'sans-serif' },
  };
}

/** Writes `routing-over-training.svg` into a run directory whose log has routing; returns its path. */
export async function writeRoutingOverTraining(runDirectory: string): Promise<string | undefined> {
  const spec = routingOverTrainingSpec(await readTrainingLog(join(runDirectory, trainingFiles.log)));
  if (spec === undefined) return undefined;
  const file = join(runDirectory, routingPlotFileName);
  await writeFileAtomic(file, await renderSvg(spec));
  return file;
}
