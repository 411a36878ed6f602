/**
 * `dnc train --cancel --out DIR`: cancels the fine-tuning job a run directory's journal names
 * (looking it up by its training file when an interrupted run created it without recording it).
 * The command following the job, if one still runs, then ends with the service's `cancelled`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors/user-error.js';
import { TeacherApiCallError, TeacherRetryError } from '../../teacher/errors.js';
import type { FineTuningClient } from './fine-tuning-client.js';
import { now, openRemoteJournal, remoteJournalFileName } from './remote-journal.js';

export interface CancelResult {
  jobId: string | null;
  status: string;
  message: string;
}

export async function cancelRemoteTraining(options: {
  client: FineTuningClient;
  outDirectory: string;
  log: (message: string) => void;
}): Promise<CancelResult> {
  if (!existsSync(join(options.outDirectory, remoteJournalFileName)))
    throw new UserError(
      `${options.outDirectory} holds no remote fine-tuning run (no ${remoteJournalFileName}); give the --out of \`dnc train --backend openai\``,
    );
  const journal = await openRemoteJournal(options.outDirectory);
  try {
    const { state } = journal;
    let jobId = state.jobId;
    const trainingFileId = state.jobRequested?.trainingFileId;
    if (jobId === undefined && trainingFileId !== undefined)
      jobId = (await options.client.findJob((job) => job.training_file === trainingFileId))?.id;
    if (jobId === undefined)
      return {
        jobId: null,
        status: 'none',
        message: 'no fine-tuning job was created for this run; nothing to cancel',
      };
    if (state.finished !== undefined)
      return {
        jobId,
        status: state.finished.status,
        message: `job ${jobId} already ${state.finished.status}`,
      };
    await journal.record({ kind: 'cancel-requested', at: now(), jobId });
    try {
      const job = await options.client.cancelJob(jobId);
      return { jobId, status: job.status, message: `job ${jobId} is ${job.status}` };
    } catch (error) {
      const last = error instanceof TeacherRetryError ? error.lastError : error;
      if (last instanceof TeacherApiCallError && last.status === 400) {
        const job = await options.client.retrieveJob(jobId);
        return {
          jobId,
          status: job.status,
          message: `job ${jobId} had already ${job.status}; nothing to cancel`,
        };
      }
      throw error;
    }
  } finally {
    await journal.close();
  }
}
