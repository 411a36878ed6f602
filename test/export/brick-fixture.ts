/** Test fixture: a nano student with random weights and a small trained tokenizer, exported as a brick. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportBrick, type ExportBrickResult } from '../../src/export/export-brick.js';
import type { BrickRole } from '../../src/bricks/brick-manifest.js';
import { loadPreset, type StudentArchitecture } from '../../src/student/config.js';
import { initializeWeights } from '../../src/student/initialize.js';
import { trainBpe } from '../../src/tokenizer/bpe-trainer.js';
import { writeTokenizerFiles } from '../../src/tokenizer/tokenizer-files.js';
import { sampleCorpus } from '../tokenizer/random-text.js';

export interface BrickFixture {
  root: string;
  tokenizerDirectory: string;
  architecture: StudentArchitecture;
  weights: Map<string, Float32Array>;
  exported: ExportBrickResult;
  brickDirectory: string;
}

export async function makeTokenizer(directory: string, vocabSize: number, maxLength: number): Promise<void> {
  const model = trainBpe(sampleCorpus(600, 5), { vocabSize });
  await writeTokenizerFiles(directory, model, { modelMaxLength: maxLength });
}

/** Prompts of different lengths in the nano vocabulary, for the decoder and batching tests. */
export const nanoPrompts: readonly number[][] = [
  [0, 4, 300, 301, 77, 12, 6, 5],
  [0, 4, 45, 5],
  [0, 3, 99, 6, 4, 123, 200, 310, 411, 6, 5],
  [0, 4, 7, 8, 9, 10, 11, 6, 5],
];

/** Exports a random-init nano brick into a fresh temporary directory. */
export async function makeNanoBrick(
  role: BrickRole = 'decomposer',
  seed = 3,
  initializerRange = 0.2,
): Promise<BrickFixture> {
  const root = await mkdtemp(join(tmpdir(), 'dnc-export-'));
  const architecture = (await loadPreset('nano')).architecture;
  const tokenizerDirectory = join(root, 'tokenizer');
  await makeTokenizer(tokenizerDirectory, architecture.vocabSize, architecture.maxPositionEmbeddings);
  // A wide init makes greedy decoding depend strongly on the prompt (distinct tokens per prompt).
  const weights = initializeWeights({ ...architecture, initializerRange }, seed);
  const brickDirectory = join(root, 'brick');
  const exported = await exportBrick({
    architecture,
    weights,
    tokenizerDirectory,
    role,
    lineage: { dataHash: 'sha256:test', teacher: 'reference', training: { preset: 'nano', steps: 0 } },
    metrics: { finalValLoss: null },
    outDirectory: brickDirectory,
  });
  return { root, tokenizerDirectory, architecture, weights, exported, brickDirectory };
}

/**
 * Exports the fixture's weights again as a decomposer brick in `out`, with every decoding helper
 * off and a 1,024-token context (room for a decompose prompt): the brick the serving tests run.
 */
export function exportPlainDecomposer(fixture: BrickFixture, out: string): Promise<ExportBrickResult> {
  return exportBrick({
    architecture: { ...fixture.architecture, maxPositionEmbeddings: 1024 },
    weights: fixture.weights,
    tokenizerDirectory: fixture.tokenizerDirectory,
    role: 'decomposer',
    lineage: { dataHash: null, teacher: 'reference', training: {} },
    metrics: {},
    outDirectory: out,
    decoding: {},
  });
}
