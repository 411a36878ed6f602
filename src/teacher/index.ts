/** The teacher boundary and its adapters (the factory and the reference teacher, which builds on the runtime's ReferenceBrick, live in src/collect). */
export type * from './types.js';
export * from './errors.js';
export { OpenAITeacher, forgetStructuredOutputSupport } from './openai-teacher.js';
export type { OpenAITeacherConfig } from './openai-teacher.js';
export { GoldTeacher } from './gold-teacher.js';
export { ReplayTeacher } from './replay-teacher.js';
export { estimateTokens, lookupPrice, priceUsage } from './pricing.js';
export type { PriceTable } from './pricing.js';
export { defaultRetryPolicy, parseRetryAfterMs, withRetries } from './retry.js';
export type { RetryPolicy } from './retry.js';
