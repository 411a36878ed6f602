/**
 * The Hugging Face files of an exported brick besides the model: `config.json` (a LlamaConfig
 * with a `transformers.js_config` that points transformers.js at the fp32 `onnx/model.onnx`) and
 * `generation_config.json` (greedy, ending at `<|eos|>` or at `<|end|>`, the end of an assistant turn).
 */
import { toHuggingFaceConfig, type StudentArchitecture } from '../student/config.js';
import type { SpecialTokenIds } from '../tokenizer/special-tokens.js';

export const brickFiles = {
  config: 'config.json',
  generationConfig: 'generation_config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  model: 'onnx/model.onnx',
  weights: 'model.safetensors',
  manifest: 'brick.json',
} as const;

export function buildModelConfig(architecture: StudentArchitecture, ids: SpecialTokenIds) {
  return {
    ...toHuggingFaceConfig(architecture, { bos: ids.bos, eos: ids.eos, pad: ids.pad }),
    'transformers.js_config': { dtype: 'fp32', use_external_data_format: false },
  };
}

/**
 * `max_new_tokens` is 1.5 × the longest answer the student was trained on (plus a margin), so an
 * under-trained student that never writes its end token stops at a plausible length instead of
 * filling the context on every call.
 */
export function buildGenerationConfig(ids: SpecialTokenIds, longestAnswerTokens?: number | null) {
  return {
    bos_token_id: ids.bos,
    eos_token_id: [ids.eos, ids.end],
    pad_token_id: ids.pad,
    do_sample: false,
    ...(longestAnswerTokens ? { max_new_tokens: Math.ceil(longestAnswerTokens * 1.5) + 8 } : {}),
  };
}
