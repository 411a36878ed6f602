/**
 * dnc's MoE student against an independent oracle: test/student/moe-torch-reference.py, Hugging
 * Face Mixtral written from modeling_mixtral.py in plain torch (float64), reading the exported brick
 * itself. It needs Debian's python3-torch (run by /usr/bin/python3); without it the test is skipped
 * and says why.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initializeWeights } from '../../src/student/initialize.js';
import { exportStudentBrick, mixture, nanoArchitecture, tokens, trainingForward } from './moe-fixture.js';
import { debianPython, torchMissingReason } from './oracle-helpers.js';

const python = debianPython;
const script = fileURLToPath(new URL('./moe-torch-reference.py', import.meta.url));

const skipReason = torchMissingReason();
if (skipReason !== undefined) console.warn(`MoE torch oracle test skipped: ${skipReason}`);

interface OracleResult {
  logits: number[][];
  balance_loss: number;
}

describe.skipIf(skipReason !== undefined)('MoE student against the torch Mixtral oracle', () => {
  it('gives Mixtral logits and load-balancing loss for top-2 of 4 and top-1 of 3 experts, and with the cosine router', async () => {
    for (const [experts, topK, seed, router] of [
      [4, 2, 21, 'softmax'],
      [3, 1, 22, 'softmax'],
      [4, 2, 23, 'cosine'], // the oracle reads dnc_router, its dimension and temperature from config.json
    ] as const) {
      const architecture = await nanoArchitecture(mixture(experts, topK, { router }));
      const weights = initializeWeights({ ...architecture, initializerRange: 0.2 }, seed);
      const brick = await exportStudentBrick(architecture, weights);
      const row = tokens(12, seed);
      const output = execFileSync(python, [script, JSON.stringify([{ directory: brick, ids: row }])], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      const [oracle] = JSON.parse(output) as OracleResult[];
      const expected = Float32Array.from(oracle.logits.flat());
      const actual = await trainingForward(architecture, weights, [row]);
      expect(actual.logits.length).toBe(expected.length);
      let worst = 0;
      for (let index = 0; index < expected.length; index += 1)
        worst = Math.max(worst, Math.abs(actual.logits[index] - expected[index]));
      expect(worst).toBeLessThan(1e-4);
      expect(actual.balance).toBeCloseTo(oracle.balance_loss, 5);
    }
  });
});
