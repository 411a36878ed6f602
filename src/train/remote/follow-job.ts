/**
 * Follows a fine-tuning job until it ends: polls the job, prints each new event (messages,
 * metrics) on stderr and appends it to `train-log.jsonl` (`{ event, at, level, message, step?,
 * loss?, validationLoss? }`, the local trainer's names for the losses). Events already in the log
 * are skipped, so a re-attached command never logs one twice.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { openJournal } from '../../data/jsonl.js';
import { sleep as defaultSleep } from '../../teacher/retry.js';
import type { FineTuningClient } from './fine-tuning-client.js';
import {
  jobMetricsSchema,
  terminalJobStatuses,
  type FineTuningJob,
  type JobEvent,
} from './fine-tuning-schemas.js';

export const remoteTrainLogFileName = 'train-log.jsonl';

export const remoteLogEntrySchema = z.strictObject({
  /** The service's event id, or `status:NAME` for a status dnc saw change. */
  event: z.string().min(1),
  at: z.string().min(1),
  level: z.string(),
  message: z.string(),
  step: z.number().optional(),
  totalSteps: z.number().optional(),
  loss: z.number().optional(),
  validationLoss: z.number().optional(),
});
export type RemoteLogEntry = z.infer<typeof remoteLogEntrySchema>;

export interface FollowOptions {
  client: FineTuningClient;
  jobId: string;
  directory: string;
  pollIntervalMs: number;
  log: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface FollowResult {
  job: FineTuningJob;
  /** The last train and validation loss the events reported (null: none reported). */
  trainLoss: number | null;
  validationLoss: number | null;
}

function logEntry(event: JobEvent): RemoteLogEntry {
  const entry: RemoteLogEntry = {
    event: event.id,
    at: new Date(event.created_at * 1000).toISOString(),
    level: event.level ?? 'info',
    message: event.message,
  };
  const metrics = jobMetricsSchema.safeParse(event.data ?? {});
  if (event.type === 'metrics' && metrics.success) {
    const { step, total_steps: totalSteps, train_loss: loss } = metrics.data;
    const validationLoss = metrics.data.full_valid_loss ?? metrics.data.valid_loss;
    if (step !== undefined) entry.step = step;
    if (totalSteps !== undefined) entry.totalSteps = totalSteps;
    if (typeof loss === 'number') entry.loss = loss;
    if (typeof validationLoss === 'number') entry.validationLoss = validationLoss;
  }
  return entry;
}

function describe(entry: RemoteLogEntry): string {
  if (entry.loss === undefined && entry.validationLoss === undefined) return entry.message;
  const parts = [`step ${entry.step ?? '?'}${entry.totalSteps === undefined ? '' : `/${entry.totalSteps}`}`];
  if (entry.loss !== undefined) parts.push(`train loss ${entry.loss.toFixed(4)}`);
  if (entry.validationLoss !== undefined) parts.push(`validation loss ${entry.validationLoss.toFixed(4)}`);
  return parts.join(', ');
}

export async function followJob(options: FollowOptions): Promise<FollowResult> {
  const journal = await openJournal(join(options.directory, remoteTrainLogFileName), remoteLogEntrySchema);
  const seen = new Set(journal.existing.map((entry) => entry.event));
  const last = (key: 'loss' | 'validationLoss') =>
    journal.existing.findLast((entry) => entry[key] !== undefined)?.[key] ?? null;
  const result = { trainLoss: last('loss'), validationLoss: last('validationLoss') };
  const wait = options.sleep ?? defaultSleep;
  try {
    for (;;) {
      const job = await options.client.retrieveJob(options.jobId);
      const status = `status:${job.status}`;
      if (!seen.has(status)) {
        seen.add(status);
        const message = `job ${job.id} is ${job.status.replace('_', ' ')}`;
        await journal.append({ event: status, at: new Date().toISOString(), level: 'info', message });
        options.log(`dnc train: ${message}`);
      }
      for (const event of await options.client.newEvents(options.jobId, seen)) {
        seen.add(event.id);
        const entry = logEntry(event);
        await journal.append(entry);
        if (entry.loss !== undefined) result.trainLoss = entry.loss;
        if (entry.validationLoss !== undefined) result.validationLoss = entry.validationLoss;
        options.log(`dnc train: ${describe(entry)}`);
      }
      if (terminalJobStatuses.has(job.status)) return { job, ...result };
      await wait(options.pollIntervalMs);
    }
  } finally {
    await journal.close();
  }
}
