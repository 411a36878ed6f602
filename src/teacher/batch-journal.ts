/**
 * The journal of batches a `BatchRequestQueue` submitted (`batches.jsonl`): each batch's id and
 * the custom ids of its requests (a request's id is the hash of its body, `-N` for the N-th equal
 * body in flight). A command killed while batches ran asks again for the same bodies when rerun;
 * `claim` hands each such request the journaled batch that already holds it, so the queue waits
 * for that batch instead of paying for the request a second time.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { openJournal, type Journal } from '../data/jsonl.js';
import type { ChatRequestBody } from './openai-protocol.js';

const batchJournalEntrySchema = z.strictObject({
  batchId: z.string().min(1),
  customIds: z.array(z.string().min(1)),
  createdAt: z.string(),
});
type BatchJournalEntry = z.infer<typeof batchJournalEntrySchema>;

export function requestHash(body: ChatRequestBody): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32);
}

export class BatchJournal {
  private readonly unclaimed = new Map<string, { batchId: string; customId: string }[]>();

  private constructor(private readonly journal: Journal<BatchJournalEntry>) {
    for (const entry of journal.existing) {
      for (const customId of entry.customIds) {
        const hash = customId.replace(/-\d+$/, '');
        this.unclaimed.set(hash, [...(this.unclaimed.get(hash) ?? []), { batchId: entry.batchId, customId }]);
      }
    }
  }

  static async open(file: string): Promise<BatchJournal> {
    return new BatchJournal(await openJournal(file, batchJournalEntrySchema));
  }

  /** The journaled batch request of an earlier run with this body not yet given to a caller, if any. */
  claim(hash: string): { batchId: string; customId: string } | undefined {
    return this.unclaimed.get(hash)?.shift();
  }

  record(batchId: string, customIds: readonly string[]): Promise<void> {
    return this.journal.append({ batchId, customIds: [...customIds], createdAt: new Date().toISOString() });
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}
