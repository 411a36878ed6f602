/**
 * The Hugging Face files of an exported brick besides the model: `config.json` (a LlamaConfig, or
 * a pretrained base's own config with its model_type and fields, with a `transformers.js_config`
 * that points transformers.js at the fp32 `onnx/model.onnx`) and `generation_config.json` (greedy,
 * ending at end-of-sequence or at the end of an assistant turn: `<|eos|>`/`<|end|>` for dnc's
 * tokenizer, the base's eos and turn-end tokens for a pretrained one).
 */
import { toHuggingFaceConfig, type StudentArchitecture } from '../student/config.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export const brickFiles = {
  config: 'config.json',
  generationConfig: 'generation_config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  model: 'onnx/model.onnx',
  weights: 'model.safetensors',
  manifest: 'brick.json',
} as const;

/**
 * The ids generation stops at: eos, the end of a turn and, for a pretrained base, every eos id its
 * config.json lists (Llama 3's instruct models list three).
 */
function stopIds(tokenizer: Tokenizer, architecture?: StudentArchitecture): number[] {
  const listed = architecture?.huggingFaceConfig?.eos_token_id;
  const baseIds = (Array.isArray(listed) ? listed : [listed]).filter(
    (id): id is number => typeof id === 'number' && Number.isInteger(id) && id >= 0,
  );
  return [...new Set([tokenizer.eosTokenId, tokenizer.endTokenId, ...baseIds])];
}

export function buildModelConfig(
  architecture: StudentArchitecture,
  tokenizer: Tokenizer,
  externalData = false,
) {
  const pretrained = architecture.huggingFaceConfig;
  // A pretrained base keeps its own token ids (eos may be a list, as Llama 3's is); weights are now float32.
  const ids =
    pretrained === undefined
      ? { bos: tokenizer.bosTokenId, eos: tokenizer.eosTokenId, pad: tokenizer.padTokenId }
      : {
          bos: (pretrained.bos_token_id as number | null | undefined) ?? tokenizer.bosTokenId,
          eos: (pretrained.eos_token_id as number | number[] | null | undefined) ?? tokenizer.eosTokenId,
          pad: (pretrained.pad_token_id as number | null | undefined) ?? tokenizer.padTokenId,
        };
  return {
    ...toHuggingFaceConfig(architecture, ids),
    'transformers.js_config': { dtype: 'fp32', use_external_data_format: externalData },
  };
}

/**
 * `max_new_tokens` is 1.5 × the longest answer the student was trained on (plus a margin), so an
 * under-trained student that never writes its end token stops at a plausible length instead of
 * filling the context on every call.
 */
export function buildGenerationConfig(
  tokenizer: Tokenizer,
  longestAnswerTokens?: number | null,
  architecture?: StudentArchitecture,
) {
  return {
    bos_token_id: tokenizer.bosTokenId,
    eos_token_id: stopIds(tokenizer, architecture),
    pad_token_id: tokenizer.padTokenId,
    do_sample: false,
    ...(longestAnswerTokens ? { max_new_tokens: Math.ceil(longestAnswerTokens * 1.5) + 8 } : {}),
  };
}
