/** Prompt renderers, training targets and tolerant parsers shared by teachers, bricks and the trainer. */
export * from './decompose-prompt.js';
export * from './solve-prompt.js';
export * from './next-subquestion-prompt.js';
export * from './prompt-hash.js';
export * from './prompt-style.js';
export { renderQuestionBlock } from './prompt-text.js';
