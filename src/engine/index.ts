/** The training engine's public API: graph builder, autodiff, optimizer, sessions and the trainer. */
export { type DataType, isFloating } from './data-type.js';
export { type Attribute, type Node, type Value, float, int, ints, string } from './graph-core.js';
export { Graph, type GemmOptions, type Operand } from './graph.js';
export { type Dimension, type Shape, formatShape } from './shape.js';
export { gradients } from './autodiff.js';
export { type GradientContext, type GradientRule, gradientRules } from './gradient-rules.js';
export { type AdamWOptions, appendAdamW, defaultAdamW, optimizerNames } from './optimizer.js';
export { IR_VERSION, OPSET_VERSION, serializeGraph } from './serialize.js';
export { EngineSession, type EngineSessionOptions, type Feeds, describeFeeds, tensor } from './session.js';
export {
  type ParameterSpec,
  type TrainableModel,
  buildAccumulateGraph,
  buildLossGraph,
  buildStepGraph,
  buildUpdateGraph,
  trainingOutputNames,
} from './training-graphs.js';
export { type StepResult, Trainer, type TrainerOptions } from './trainer.js';
export { causalMask, causalSelfAttention, rmsNorm, swiGlu } from './layers.js';
export { normalArray, seededRandom } from './random.js';
