/**
 * Routing over training (src/eval/expert-training-plot.ts): a run's train-log.jsonl with `routing` at
 * its evaluations becomes routing-over-training.svg (a line per expert's share, per layer, and the
 * utilization); a log without routing (a dense run) draws nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  routingPlotFileName,
  routingRows,
  writeRoutingOverTraining,
} from '../../src/eval/expert-training-plot.js';
import { temporaryDirectory } from '../student/hugging-face-fixtures.js';

const lines = [
  { step: 1, loss: 5, gradientNorm: 1, learningRate: 0.001, tokens: 100 },
  {
    step: 10,
    validationLoss: 4,
    routing: [{ layer: 0, shares: [0.5, 0.3, 0.2], entropy: 1, utilization: 0.9 }],
  },
  {
    step: 20,
    validationLoss: 3,
    routing: [{ layer: 0, shares: [0.6, 0.4, 0], entropy: 0.7, utilization: 0.65 }],
  },
];

describe('routing over training', () => {
  it('draws each expert share and the utilization per layer from the log', async () => {
    const run = await temporaryDirectory('dnc-routing-plot-');
    await writeFile(
      join(run, 'train-log.jsonl'),
      lines.map((line) => JSON.stringify(line)).join('\n') + '\n',
    );
    const rows = routingRows(lines);
    expect(rows).toHaveLength(8); // 2 evaluations × (3 experts + utilization)
    expect(rows.filter((row) => row.series === 'E1').map((row) => [row.step, row.value])).toEqual([
      [10, 0.3],
      [20, 0.4],
    ]);
    const file = await writeRoutingOverTraining(run);
    expect(file).toBe(join(run, routingPlotFileName));
    const svg = readFileSync(file!, 'utf8');
    expect(svg).toMatch(/^<svg/);
    for (const text of ['layer 0', 'utilization', 'E2', 'Routing over training']) expect(svg).toContain(text);
  });

  it('draws nothing for a log without routing', async () => {
    const run = await temporaryDirectory('dnc-routing-plot-');
    await writeFile(
      join(run, 'train-log.jsonl'),
      `${JSON.stringify(lines[0])}\n${JSON.stringify({ step: 10, validationLoss: 4 })}\n`,
    );
    expect(await writeRoutingOverTraining(run)).toBeUndefined();
    expect(existsSync(join(run, routingPlotFileName))).toBe(false);
  });
});
