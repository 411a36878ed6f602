/**
 * The wire format of an OpenAI-compatible fine-tuning service, as far as dnc reads it: files,
 * jobs, job events (messages and metrics) and list pages. Other fields are allowed and ignored,
 * so services that send more (or newer OpenAI versions) still validate.
 */
import { z } from 'zod';

export const remoteFileSchema = z.object({
  id: z.string().min(1),
  filename: z.string().optional(),
  purpose: z.string().optional(),
  bytes: z.number().optional(),
});
export type RemoteFile = z.infer<typeof remoteFileSchema>;

export const jobStatusSchema = z.enum([
  'validating_files',
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'paused',
]);
export type JobStatus = z.infer<typeof jobStatusSchema>;

export const terminalJobStatuses: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export const fineTuningJobSchema = z.object({
  id: z.string().min(1),
  status: jobStatusSchema,
  model: z.string(),
  training_file: z.string(),
  validation_file: z.string().nullable().optional(),
  fine_tuned_model: z.string().nullable().optional(),
  trained_tokens: z.number().int().nonnegative().nullable().optional(),
  error: z
    .object({
      message: z.string().nullable().optional(),
      code: z.string().nullable().optional(),
      param: z.string().nullable().optional(),
    })
    .nullable()
    .optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  estimated_finish: z.number().nullable().optional(),
});
export type FineTuningJob = z.infer<typeof fineTuningJobSchema>;

/** Metrics an event may carry (`type: "metrics"`); every field optional, services differ. */
export const jobMetricsSchema = z.object({
  step: z.number().optional(),
  total_steps: z.number().optional(),
  train_loss: z.number().nullable().optional(),
  valid_loss: z.number().nullable().optional(),
  full_valid_loss: z.number().nullable().optional(),
  train_mean_token_accuracy: z.number().nullable().optional(),
  valid_mean_token_accuracy: z.number().nullable().optional(),
});

export const jobEventSchema = z.object({
  id: z.string().min(1),
  created_at: z.number(),
  level: z.string().optional(),
  message: z.string(),
  type: z.string().optional(),
  data: z.unknown().optional(),
});
export type JobEvent = z.infer<typeof jobEventSchema>;

/** A cursor page (`{ data: [...], has_more }`), the shape of every list endpoint. */
export function listPageSchema<Item extends z.ZodType>(item: Item) {
  return z.object({ data: z.array(item), has_more: z.boolean().optional() });
}
