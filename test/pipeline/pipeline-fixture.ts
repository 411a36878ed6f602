/**
 * A nano-sized pipeline for tests: both synthetic worlds (a few dozen training examples), the
 * reference teacher, `correct`-filtered decompositions, nano students with a handful of steps,
 * and a small eval with the five chains of the paper's table.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function nanoPipeline(name: string): Record<string, unknown> {
  // A few dozen examples are under the training floor: the tests train on them on purpose.
  const nano = {
    preset: 'nano',
    maxSteps: 3,
    batchSize: 2,
    checkpointEvery: 2,
    sequenceLength: 256,
    allowSmallData: true,
  };
  return {
    name,
    datasets: [
      { name: 'hops-train', world: 'hops', split: 'train', n: 15, seed: 1 },
      { name: 'math-train', world: 'math', split: 'train', n: 15, seed: 1 },
    ],
    teacher: 'reference',
    collect: { filter: 'correct', concurrency: 4 },
    students: [
      { name: 'decomposer', role: 'decomposer', ...nano },
      { name: 'solver', role: 'solver', ...nano },
    ],
    eval: {
      datasets: [
        { name: 'hops-test', world: 'hops', split: 'test', n: 3, seed: 2 },
        { name: 'math-ood', world: 'math', split: 'ood', n: 3, seed: 2 },
      ],
      chains: [
        { name: 'single', solver: 'reference', mode: 'single' },
        { name: 'reference/reference', decomposer: 'reference', solver: 'reference', mode: 'static' },
        { name: 'student/reference', decomposer: 'student:decomposer', solver: 'reference', mode: 'static' },
        { name: 'reference/student', decomposer: 'reference', solver: 'student:solver', mode: 'static' },
        {
          name: 'student/student',
          decomposer: 'student:decomposer',
          solver: 'student:solver',
          mode: 'static',
        },
      ],
    },
  };
}

/** A temporary directory holding `pipeline.json` (and later `runs/`). */
export async function writePipeline(pipeline: unknown): Promise<{ directory: string; file: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'dnc-pipeline-'));
  const file = join(directory, 'pipeline.json');
  await writeFile(file, `${JSON.stringify(pipeline, null, 2)}\n`);
  return { directory, file };
}
