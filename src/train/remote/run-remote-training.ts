/**
 * `dnc train --backend openai`: fine-tunes a remote model on a chat JSONL file through an
 * OpenAI-compatible service and ends with a brick directory naming the result. Order of work,
 * each remote step journaled before and after (remote-journal.ts), so a killed run re-attaches:
 * check the files → estimate and budget → record the request → upload each file → create the
 * job → follow it → write brick.json. A rerun of a finished run returns its summary at once.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { UserError } from '../../errors/user-error.js';
import { RemoteTrainingFailedError } from './remote-training-failed-error.js';
import type { BrickRole } from '../../bricks/brick-manifest.js';
import type { FineTuningClient } from './fine-tuning-client.js';
import type { FineTuningJob } from './fine-tuning-schemas.js';
import { followJob } from './follow-job.js';
import { writeRemoteBrickManifest } from './remote-brick-manifest.js';
import {
  now,
  openRemoteJournal,
  type FileRole,
  type RemoteJournal,
  type RemoteRequest,
} from './remote-journal.js';
import { checkTrainingFile } from './training-file-check.js';
import {
  describeEstimate,
  estimateTraining,
  trainingCostUsd,
  type TrainingEstimate,
} from './training-estimate.js';

export interface RemoteTrainingOptions {
  client: FineTuningClient;
  base: string;
  role: BrickRole;
  dataFile: string;
  validationFile?: string;
  outDirectory: string;
  epochs?: number;
  suffix?: string;
  seed?: number;
  teacher?: string;
  /** Dollars the estimate may reach without `yes`. */
  maxUsd: number;
  yes: boolean;
  pollIntervalMs: number;
  log: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface RemoteTrainingSummary {
  status: 'succeeded';
  brick: string;
  model: string;
  jobId: string;
  trainedTokens: number | null;
  costUsd: number;
  estimate: TrainingEstimate;
  trainLoss: number | null;
  validationLoss: number | null;
  /** False when the run re-attached to an earlier command's job. */
  createdJob: boolean;
}

interface LoadedFile {
  role: FileRole;
  path: string;
  text: string;
  sha256: string;
}

async function loadFile(role: FileRole, path: string): Promise<LoadedFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(
      `cannot read the ${role} file ${path} (${(error as Error).message}); check --data / --validation`,
    );
  }
  return { role, path, text, sha256: createHash('sha256').update(text).digest('hex') };
}

/** Checks every file against the service's rules; all problems are logged, one line each, then one error. */
function checkFiles(files: readonly LoadedFile[], base: string, log: (message: string) => void): number {
  const checks = files.map((file) =>
    checkTrainingFile(file.path, file.text, base, file.role === 'training' ? 10 : 1),
  );
  const problems = checks.flatMap((check) => check.problems);
  for (const problem of problems) log(problem);
  if (problems.length > 0)
    throw new UserError(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the fine-tuning data (listed above); fix them and rerun`,
    );
  return checks[0]!.tokens;
}

function sameRequest(left: RemoteRequest, right: RemoteRequest): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}

async function ensureUpload(
  journal: RemoteJournal,
  client: FineTuningClient,
  file: LoadedFile,
  runKey: string,
  log: (message: string) => void,
): Promise<string> {
  const done = journal.state.uploaded.get(file.role);
  if (done !== undefined) return done.fileId;
  const filename = `dnc-${runKey}-${file.role}-${file.sha256.slice(0, 16)}.jsonl`;
  if (journal.state.uploadsStarted.has(file.role)) {
    const stored = await client.findFile(filename);
    if (stored !== undefined) {
      log(`dnc train: found the ${file.role} file ${stored.id} an interrupted run uploaded`);
      await journal.record({
        kind: 'uploaded',
        at: now(),
        role: file.role,
        sha256: file.sha256,
        fileId: stored.id,
      });
      return stored.id;
    }
  } else {
    await journal.record({
      kind: 'upload-started',
      at: now(),
      role: file.role,
      sha256: file.sha256,
      filename,
    });
  }
  const uploaded = await client.uploadFile(filename, file.text);
  await journal.record({
    kind: 'uploaded',
    at: now(),
    role: file.role,
    sha256: file.sha256,
    fileId: uploaded.id,
  });
  log(`dnc train: uploaded ${file.path} as ${uploaded.id}`);
  return uploaded.id;
}

async function ensureJob(
  journal: RemoteJournal,
  options: RemoteTrainingOptions,
  files: { training: string; validation: string | null },
  runKey: string,
): Promise<{ jobId: string; created: boolean }> {
  if (journal.state.jobId !== undefined) return { jobId: journal.state.jobId, created: false };
  const ours = (job: FineTuningJob) =>
    job.training_file === files.training && (job.metadata?.dnc_run ?? runKey) === runKey;
  if (journal.state.jobRequested !== undefined) {
    const found = await options.client.findJob(ours);
    if (found !== undefined) {
      options.log(`dnc train: re-attached to job ${found.id}, created by an interrupted run`);
      await journal.record({ kind: 'job-created', at: now(), jobId: found.id });
      return { jobId: found.id, created: false };
    }
  } else {
    await journal.record({
      kind: 'job-requested',
      at: now(),
      trainingFileId: files.training,
      validationFileId: files.validation,
    });
  }
  const job = await options.client.createJob({
    model: options.base,
    training_file: files.training,
    ...(files.validation === null ? {} : { validation_file: files.validation }),
    ...(options.suffix === undefined ? {} : { suffix: options.suffix }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.epochs === undefined
      ? {}
      : { method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: options.epochs } } } }),
    metadata: { dnc_run: runKey },
  });
  await journal.record({ kind: 'job-created', at: now(), jobId: job.id });
  options.log(
    `dnc train: created fine-tuning job ${job.id} (follow it here; stop with \`dnc train --cancel --out ${options.outDirectory}\`)`,
  );
  return { jobId: job.id, created: true };
}

function checkBudget(estimate: TrainingEstimate, options: RemoteTrainingOptions): void {
  if (estimate.usd <= options.maxUsd || options.yes) return;
  throw new UserError(
    `the estimated training cost $${estimate.usd.toFixed(2)} is over the budget $${options.maxUsd.toFixed(2)}; ` +
      'rerun with --yes to accept it, or raise the budget with --max-usd (pipeline: students[].maxUsd)',
  );
}

/** Reads, checks and estimates; records the request (a fresh run key) unless the journal has it. */
async function prepare(journal: RemoteJournal, options: RemoteTrainingOptions) {
  const files = [await loadFile('training', options.dataFile)];
  if (options.validationFile !== undefined) files.push(await loadFile('validation', options.validationFile));
  const request: RemoteRequest = {
    backend: 'openai',
    base: options.base,
    role: options.role,
    trainingHash: files[0]!.sha256,
    validationHash: files[1]?.sha256 ?? null,
    epochs: options.epochs ?? null,
    suffix: options.suffix ?? null,
    seed: options.seed ?? null,
  };
  const recorded = journal.state.request;
  if (recorded !== undefined && !sameRequest(recorded.request, request))
    throw new UserError(
      `${options.outDirectory} holds a fine-tuning run of other data or settings; use another --out, or delete it to start over`,
    );
  const estimate = estimateTraining(
    options.base,
    checkFiles(files, options.base, options.log),
    options.epochs,
  );
  options.log(`dnc train: ${describeEstimate(options.base, estimate)}`);
  if (journal.state.jobId === undefined) checkBudget(estimate, options);
  if (recorded === undefined)
    await journal.record({ kind: 'request', at: now(), runKey: randomUUID().slice(0, 8), request });
  return { files, request, estimate, runKey: journal.state.request!.runKey };
}

type Ids = { jobId: string; created: boolean; training: string; validation: string | null };

/** The run directory becomes a brick: brick.json naming the fine-tuned model, with its lineage. */
function writeBrick(
  options: RemoteTrainingOptions,
  prepared: Awaited<ReturnType<typeof prepare>>,
  ids: Ids & { model: string; trainedTokens: number | null; costUsd: number },
  followed: { trainLoss: number | null; validationLoss: number | null },
): Promise<void> {
  const { model, trainedTokens, costUsd } = ids;
  return writeRemoteBrickManifest(options.outDirectory, {
    specificationVersion: 'v1',
    role: options.role,
    kind: 'openai',
    model: `openai:${model}`,
    lineage: {
      backend: 'openai',
      base: options.base,
      service: options.client.baseURL,
      dataHash: prepared.request.trainingHash,
      validationHash: prepared.request.validationHash,
      teacher: options.teacher ?? null,
      jobId: ids.jobId,
      trainingFileId: ids.training,
      validationFileId: ids.validation,
      epochs: options.epochs ?? null,
      trainedTokens,
      costUsd,
    },
    metrics: { trainLoss: followed.trainLoss, validationLoss: followed.validationLoss },
  });
}

async function finish(
  journal: RemoteJournal,
  options: RemoteTrainingOptions,
  prepared: Awaited<ReturnType<typeof prepare>>,
  ids: Ids,
): Promise<RemoteTrainingSummary> {
  const followed = await followJob({
    client: options.client,
    jobId: ids.jobId,
    directory: options.outDirectory,
    pollIntervalMs: options.pollIntervalMs,
    log: options.log,
    sleep: options.sleep,
  });
  const { job } = followed;
  const trainedTokens = job.trained_tokens ?? null;
  const costUsd = trainingCostUsd(options.base, trainedTokens ?? 0);
  const status = job.status as 'succeeded' | 'failed' | 'cancelled';
  const message = job.error?.message ?? null;
  const model = job.fine_tuned_model ?? null;
  if (journal.state.finished === undefined)
    await journal.record({
      kind: 'finished',
      at: now(),
      jobId: job.id,
      status,
      fineTunedModel: model,
      trainedTokens,
      costUsd,
      message,
    });
  if (status !== 'succeeded')
    throw new RemoteTrainingFailedError(
      `fine-tuning job ${job.id} ${status}${message === null ? '' : `: ${message}`}; ` +
        `fix the cause, then start a new job in a fresh directory (another --out, or delete ${options.outDirectory})`,
    );
  if (model === null)
    throw new UserError(
      `fine-tuning job ${job.id} succeeded but named no fine-tuned model; ask the service's support`,
    );
  await writeBrick(options, prepared, { ...ids, model, trainedTokens, costUsd }, followed);
  options.log(`dnc train: ${job.id} succeeded: ${model} (brick: ${options.outDirectory})`);
  return {
    status: 'succeeded',
    brick: options.outDirectory,
    model: `openai:${model}`,
    jobId: job.id,
    trainedTokens,
    costUsd,
    estimate: prepared.estimate,
    trainLoss: followed.trainLoss,
    validationLoss: followed.validationLoss,
    createdJob: ids.created,
  };
}

export async function runRemoteTraining(options: RemoteTrainingOptions): Promise<RemoteTrainingSummary> {
  await mkdir(options.outDirectory, { recursive: true });
  const journal = await openRemoteJournal(options.outDirectory);
  try {
    const prepared = await prepare(journal, options);
    const training = await ensureUpload(
      journal,
      options.client,
      prepared.files[0]!,
      prepared.runKey,
      options.log,
    );
    const validationFile = prepared.files[1];
    const validation =
      validationFile === undefined
        ? null
        : await ensureUpload(journal, options.client, validationFile, prepared.runKey, options.log);
    const job = await ensureJob(journal, options, { training, validation }, prepared.runKey);
    return await finish(journal, options, prepared, { ...job, training, validation });
  } finally {
    await journal.close();
  }
}
