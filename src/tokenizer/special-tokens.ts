/**
 * The special tokens of every dnc tokenizer, in id order (ids 0..6). They are never produced by
 * BPE merges: the tokenizer matches them in raw text before pre-tokenization.
 *
 * Chat layout: `<|bos|>` then, per message, `<|role|>` + content + `<|end|>`. `<|end|>` closes a
 * turn (generation of an assistant turn stops there); `<|eos|>` ends a whole document.
 */
export const specialTokens = {
  bos: '<|bos|>',
  eos: '<|eos|>',
  pad: '<|pad|>',
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
  end: '<|end|>',
} as const;

export type SpecialTokenName = keyof typeof specialTokens;

/** The special token strings in id order. */
export const specialTokenList: readonly string[] = Object.values(specialTokens);

/** The ids the special tokens get in every dnc tokenizer (the vocabulary starts with them). */
export type SpecialTokenIds = Record<SpecialTokenName, number>;

/**
 * The Jinja chat template written to `tokenizer_config.json`. No whitespace is added around the
 * markers and content is not trimmed, so rendering message by message and concatenating gives
 * the same string (and, because markers are special tokens, the same token ids): this is what
 * makes the assistant-only loss mask exact.
 */
export const chatTemplate =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] not in ['system', 'user', 'assistant'] %}" +
  "{{ raise_exception('dnc chat template: role must be system, user or assistant') }}{% endif %}" +
  "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";
