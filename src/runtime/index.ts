/** Public API of the runtime: generation, bricks, chains and the cost meter. */
export type { DecoderBatch, DecoderModel, DecoderOutput } from './generation/decoder-model.js';
export { generate, type GenerationResult } from './generation/generate.js';
export {
  generationSettingsSchema,
  type GenerationOptions,
  type GenerationSettings,
} from './generation/generation-options.js';
export * from './generation/logits-processors.js';
export * from './generation/samplers.js';
export * from './generation/stopping-criteria.js';
export type * from './bricks/brick.js';
export { BrickSpecError, parseBrickSpec, type ParsedBrickSpec } from './bricks/brick-spec.js';
export {
  defaultBrickLoaders,
  loadBrick,
  type BrickLoader,
  type LoadBrickOptions,
} from './bricks/registry.js';
export { ChainConfigurationError, checkChainBricks, runChain } from './chain.js';
export type { ChainBricks, ChainInput, ChainOptions } from './chain.js';
export type { ChainFailure, ChainStep, ChainTrace } from './chain-trace.js';
export * from './cost-meter.js';
export { renderCostTable } from './cost-table.js';
