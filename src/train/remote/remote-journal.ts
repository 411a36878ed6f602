/**
 * The journal of a remote fine-tuning run (`remote-journal.jsonl` in the run directory): every
 * step that touches the service is written down (fsync) BEFORE it is taken and again once its
 * remote id is known, so a killed command re-attaches: an upload begun but not recorded is looked
 * up by its file name (which carries the run key and the content hash) instead of uploaded again,
 * a job requested but not recorded is looked up by its training file, and a recorded job is
 * followed, never created twice.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { openJournal, type Journal } from '../../data/jsonl.js';

export const remoteJournalFileName = 'remote-journal.jsonl';

export const fileRoleSchema = z.enum(['training', 'validation']);
export type FileRole = z.infer<typeof fileRoleSchema>;

/** What the run asks of the service; a rerun into the same directory must ask the same. */
export const remoteRequestSchema = z.strictObject({
  backend: z.literal('openai'),
  base: z.string().min(1),
  role: z.enum(['decomposer', 'solver']),
  trainingHash: z.string().min(1),
  validationHash: z.string().min(1).nullable(),
  epochs: z.number().int().positive().nullable(),
  suffix: z.string().nullable(),
  seed: z.number().int().nonnegative().nullable(),
});
export type RemoteRequest = z.infer<typeof remoteRequestSchema>;

const at = z.string().min(1);

export const remoteJournalEntrySchema = z.discriminatedUnion('kind', [
  /** The run key names the uploads and tags the job, so lookups find this run's and no other's. */
  z.strictObject({ kind: z.literal('request'), at, runKey: z.string().min(1), request: remoteRequestSchema }),
  z.strictObject({
    kind: z.literal('upload-started'),
    at,
    role: fileRoleSchema,
    sha256: z.string(),
    filename: z.string(),
  }),
  z.strictObject({
    kind: z.literal('uploaded'),
    at,
    role: fileRoleSchema,
    sha256: z.string(),
    fileId: z.string(),
  }),
  z.strictObject({
    kind: z.literal('job-requested'),
    at,
    trainingFileId: z.string(),
    validationFileId: z.string().nullable(),
  }),
  z.strictObject({ kind: z.literal('job-created'), at, jobId: z.string().min(1) }),
  z.strictObject({ kind: z.literal('cancel-requested'), at, jobId: z.string().min(1) }),
  z.strictObject({
    kind: z.literal('finished'),
    at,
    jobId: z.string(),
    status: z.enum(['succeeded', 'failed', 'cancelled']),
    fineTunedModel: z.string().nullable(),
    trainedTokens: z.number().int().nonnegative().nullable(),
    costUsd: z.number().nonnegative(),
    message: z.string().nullable(),
  }),
]);
export type RemoteJournalEntry = z.infer<typeof remoteJournalEntrySchema>;
type EntryOf<Kind extends RemoteJournalEntry['kind']> = Extract<RemoteJournalEntry, { kind: Kind }>;

/** What the journal says has happened so far. */
export interface RemoteRunState {
  request?: EntryOf<'request'>;
  uploadsStarted: Map<FileRole, EntryOf<'upload-started'>>;
  uploaded: Map<FileRole, EntryOf<'uploaded'>>;
  jobRequested?: EntryOf<'job-requested'>;
  jobId?: string;
  cancelRequested: boolean;
  finished?: EntryOf<'finished'>;
}

export function replayJournal(entries: readonly RemoteJournalEntry[]): RemoteRunState {
  const state: RemoteRunState = { uploadsStarted: new Map(), uploaded: new Map(), cancelRequested: false };
  for (const entry of entries) {
    if (entry.kind === 'request') state.request = entry;
    else if (entry.kind === 'upload-started') state.uploadsStarted.set(entry.role, entry);
    else if (entry.kind === 'uploaded') state.uploaded.set(entry.role, entry);
    else if (entry.kind === 'job-requested') state.jobRequested = entry;
    else if (entry.kind === 'job-created') state.jobId = entry.jobId;
    else if (entry.kind === 'cancel-requested') state.cancelRequested = true;
    else state.finished = entry;
  }
  return state;
}

export interface RemoteJournal {
  state: RemoteRunState;
  /** Appends (fsync) and updates `state`. */
  record(entry: RemoteJournalEntry): Promise<void>;
  close(): Promise<void>;
}

export async function openRemoteJournal(directory: string): Promise<RemoteJournal> {
  const journal: Journal<RemoteJournalEntry> = await openJournal(
    join(directory, remoteJournalFileName),
    remoteJournalEntrySchema,
  );
  const entries = [...journal.existing];
  const handle: RemoteJournal = {
    state: replayJournal(entries),
    async record(entry) {
      await journal.append(entry);
      entries.push(entry);
      handle.state = replayJournal(entries);
    },
    close: () => journal.close(),
  };
  return handle;
}

export const now = (): string => new Date().toISOString();
