/**
 * The loss curve of a run, `DIR/train-log.jsonl`: one line per optimizer step
 * (`{ step, loss, gradientNorm, learningRate, tokens }`) and one per evaluation
 * (`{ step, validationLoss }`). A resumed run first cuts the file back to its checkpoint's step, so
 * the file always reads as one uninterrupted run. A torn last line (a kill mid-append) is dropped.
 */
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from '../data/jsonl.js';
import { type LayerRouting } from '../student/moe-metrics.js';

export type TrainingLogEntry =
  | { step: number; loss: number; gradientNorm: number; learningRate: number; tokens: number }
  /** `routing` (MoE students): per mixture layer, on the validation set (src/student/moe-metrics.ts). */
  | { step: number; validationLoss: number; routing?: LayerRouting[] };

/** Reads the log's entries, skipping lines that do not parse (a torn last line). */
export async function readTrainingLog(file: string): Promise<TrainingLogEntry[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const entries: TrainingLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as TrainingLogEntry);
    } catch {
      // a kill mid-append leaves at most one partial line; the resumed run rewrites that step
    }
  }
  return entries;
}

export class TrainingLog {
  private constructor(private readonly handle: FileHandle) {}

  /** Opens the log for appending; keeps the entries up to `keepThroughStep` (0: starts empty). */
  static async open(file: string, keepThroughStep: number): Promise<TrainingLog> {
    const kept =
      keepThroughStep > 0
        ? (await readTrainingLog(file)).filter((entry) => entry.step <= keepThroughStep)
        : [];
    await writeFileAtomic(file, kept.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    return new TrainingLog(await open(file, 'a'));
  }

  async append(entry: TrainingLogEntry): Promise<void> {
    await this.handle.write(`${JSON.stringify(entry)}\n`);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
