/** The teacher boundary and its adapters. */
export type * from './types.js';
export * from './errors.js';
export { createTeacher, teacherSpecHelp } from './create-teacher.js';
export type { CreateTeacherOptions } from './create-teacher.js';
export { OpenAITeacher, forgetStructuredOutputSupport } from './openai-teacher.js';
export type { OpenAITeacherConfig } from './openai-teacher.js';
export { GoldTeacher } from './gold-teacher.js';
export { ReferenceTeacher } from './reference-teacher.js';
export { ReplayTeacher } from './replay-teacher.js';
export { estimateTokens, lookupPrice, priceUsage } from './pricing.js';
export type { PriceTable } from './pricing.js';
export { defaultRetryPolicy, parseRetryAfterMs, withRetries } from './retry.js';
export type { RetryPolicy } from './retry.js';
