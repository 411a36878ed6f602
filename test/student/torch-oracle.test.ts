/**
 * dnc's forward against an independent oracle: test/student/torch-reference.py, written from the
 * Hugging Face modeling files in plain torch, reading each random checkpoint itself. It needs
 * Debian's python3-torch (`apt-get install python3-torch`, run by /usr/bin/python3); without it the
 * test is skipped and says why.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exportBrick } from '../../src/export/export-brick.js';
import { loadPretrainedCheckpoint } from '../../src/student/hugging-face-checkpoint.js';
import { referenceForward } from '../../src/student/reference-forward.js';
import {
  checkpointCases,
  fixtureVocabSize,
  temporaryDirectory,
  writeCheckpoint,
} from './hugging-face-fixtures.js';
import { debianPython, relativeDifference, torchMissingReason } from './oracle-helpers.js';

const python = debianPython;
const script = fileURLToPath(new URL('./torch-reference.py', import.meta.url));

const skipReason = torchMissingReason();
if (skipReason !== undefined) console.warn(`torch oracle test skipped: ${skipReason}`);

/** Logits per job from one python process (torch is imported once). */
function torchLogits(jobs: Array<{ directory: string; ids: number[] }>): Float32Array[] {
  const output = execFileSync(python, [script, JSON.stringify(jobs)], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  return (JSON.parse(output) as Array<{ logits: number[][] }>).map(({ logits }) =>
    Float32Array.from(logits.flat()),
  );
}

describe.skipIf(skipReason !== undefined)('forward against the torch oracle (Hugging Face semantics)', () => {
  it('dnc reference logits equal torch logits for every checkpoint case, and so do its merged exports', async () => {
    // 70 positions: past the llama3 case's original context (64), where rope scaling matters most.
    const ids = Array.from({ length: 70 }, (_, index) => (index * 53 + 7) % fixtureVocabSize);
    const bases: string[] = [];
    const bricks: string[] = [];
    for (const testCase of checkpointCases) {
      const root = await temporaryDirectory('dnc-torch-');
      const base = join(root, 'base');
      await writeCheckpoint(base, testCase);
      const loaded = await loadPretrainedCheckpoint(base);
      // The merged brick's config.json + model.safetensors, read by torch as a Hugging Face model.
      const brick = join(root, 'brick');
      await exportBrick({
        architecture: loaded.architecture,
        weights: loaded.weights,
        tokenizerDirectory: base,
        role: 'decomposer',
        lineage: { dataHash: null, teacher: null, training: {} },
        metrics: {},
        outDirectory: brick,
      });
      bases.push(base);
      bricks.push(brick);
    }
    const expected = torchLogits([...bases, ...bricks].map((directory) => ({ directory, ids })));
    for (const [index, testCase] of checkpointCases.entries()) {
      const checkpoint = await loadPretrainedCheckpoint(bases[index]);
      const actual = referenceForward(checkpoint.architecture, checkpoint.weights, ids);
      expect(relativeDifference(actual, expected[index]), testCase.name).toBeLessThan(1e-5);
      const exported = expected[checkpointCases.length + index];
      expect(relativeDifference(exported, expected[index]), `${testCase.name} export`).toBeLessThan(1e-6);
    }
  });
});
