/**
 * Run as a child process by gradient-workers.test.ts: a data-parallel trainer takes one step and is
 * never released, as when a run fails between steps. The process must still exit on its own.
 */
import { initializeMlp, mlpClassifier } from '../../src/engine/models/mlp.js';
import { Trainer } from '../../src/engine/trainer.js';
import { mlpBatch } from './mlp-batch.js';

const config = { features: 6, hidden: 8, classes: 4, rows: 4 };
const model = mlpClassifier(config);
const trainer = await Trainer.create({
  model,
  initialParameters: initializeMlp(model, 1),
  microBatches: 2,
  workers: 2,
});
const { loss } = await trainer.step([mlpBatch(config, 1), mlpBatch(config, 2)], 0.01);
console.log(`stepped: loss ${loss.toFixed(4)}`);
