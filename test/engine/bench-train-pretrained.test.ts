import { expect, it } from 'vitest';
import { measurePretrained } from '../../bench/train-pretrained.js';

it('the pretrained bench reports full and LoRA steps with tokens/s, MFU and peak RSS (2 layers, vocabulary 2,048, 1 × 64)', async () => {
  const result = (await measurePretrained({
    rows: 1,
    length: 64,
    steps: 1,
    layers: 2,
    vocabSize: 2048,
    matmulPeak: async () => 100,
    tokensPerExample: 120,
  })) as Record<string, Record<string, number>>;
  for (const mode of ['full', 'lora', 'loraLowMemory', 'loraMicroBatches'] as const) {
    for (const key of ['stepSeconds', 'tokensPerSecond', 'mfu', 'peakRssMb', 'trainableParameters'])
      expect(result[mode][key]).toBeGreaterThan(0);
  }
  // LoRA trains a small fraction of the weights and keeps no moments for the frozen base.
  expect(result.lora.trainableParameters).toBeLessThan(result.full.trainableParameters / 20);
  expect(result.lora.stateMb).toBeLessThan(result.full.stateMb / 20);
  expect(result.lora.frozenMb).toBeGreaterThan(0);
  expect(result.full.frozenMb).toBe(0);
  expect(result.thousandExamples.steps).toBe(Math.ceil(1000 / (64 / 120)));
}, 120_000);
