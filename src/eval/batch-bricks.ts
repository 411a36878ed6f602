/**
 * `dnc eval --batch`: the brick loaders of an eval whose remote bricks (`openai:MODEL` and remote
 * brick directories) send their calls through the Batch API (src/teacher/batched-openai-teacher.ts)
 * at the batch price. Every example is put in flight at once, so each round of calls (decompose,
 * then each solve step) gathers into one batch per brick.
 */
import { defaults } from '../config/defaults.js';
import { OpenAIBrick, openaiBrickConfig } from '../runtime/bricks/openai-brick.js';
import { defaultBrickLoaders, type BrickLoader } from '../runtime/bricks/registry.js';
import { BatchJournal } from '../teacher/batch-journal.js';
import { BatchedOpenAITeacher } from '../teacher/batched-openai-teacher.js';

/** Examples in flight with --batch (unless --concurrency says otherwise): all of a large suite. */
export const batchEvalConcurrency = 100_000;

export interface BatchEvalOptions {
  pollIntervalMs?: number;
  /** Quiet time before a gathered batch is submitted (default 500 ms). */
  gatherMs?: number;
  onStatus?: (batch: { id: string; status: string; completed: number; total: number }) => void;
  /**
   * The journal of submitted batches (`DIR/batches.jsonl`): a killed eval, rerun, waits for the
   * batches it had submitted instead of asking (and paying) again.
   */
  journalFile?: string;
}

export function batchBrickLoaders(options: BatchEvalOptions = {}): BrickLoader[] {
  let journal: Promise<BatchJournal> | undefined; // one for every remote brick, opened on first use
  const batched: BrickLoader = {
    kind: 'openai',
    load: async (spec, loadOptions) =>
      new OpenAIBrick(
        new BatchedOpenAITeacher(openaiBrickConfig(spec, loadOptions), {
          journal:
            options.journalFile === undefined
              ? undefined
              : await (journal ??= BatchJournal.open(options.journalFile)),
          pollIntervalMs: options.pollIntervalMs ?? defaults.collect.batchPollIntervalMs,
          gatherMs: options.gatherMs ?? 500,
          maxRequests: 50_000,
          priceFactor: defaults.collect.batchPriceFactor,
          onStatus: options.onStatus,
        }),
      ),
  };
  return defaultBrickLoaders.map((loader) => (loader.kind === 'openai' ? batched : loader));
}
