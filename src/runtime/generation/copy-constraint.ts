/**
 * Copy constraint: capitalized words the output spells with two or more tokens must be words of
 * the prompt.
 *
 * A decomposer's names come from the question ("Where was Kraihund Vel born?"), but a small
 * student that starts a name right often drifts in its later pieces ("Kraikund"), and a strict
 * solver then knows nothing about it. This processor is constrained decoding in the manner of
 * GENRE's prefix trie, with the prompt's words as the trie: while the output is inside a
 * capitalized word, a token that continues the word is allowed only if the word stays a prefix
 * of a capitalized prompt word, and a token that ends the word only if the word is complete.
 * The model still chooses which name to write (its first piece is free), and a capitalized word
 * the tokenizer spells as one token ("Which", "How") is never constrained, so the template's
 * own words pass. Lower-case words are left to the model.
 *
 * Written by hand: no library offers logits processors for our generation loop.
 */
import type { LogitsProcessor, ProcessorContext } from './logits-processors.js';

const letter = /\p{L}/u;
const upper = /^\p{Lu}/u;
const wordsOf = (text: string): string[] => text.match(/\p{Lu}\p{L}*/gu) ?? [];

export class CopyConstraintProcessor implements LogitsProcessor {
  readonly name = 'copy-constraint';
  /** For each token: its text, and the length of its leading run of letters. */
  private readonly texts: readonly string[];
  private readonly leadingLetters: Int32Array;
  private promptTokens: readonly number[] | undefined;
  private promptWords = new Set<string>();
  private promptPrefixes = new Set<string>();

  /** `tokenTexts[id]` is the decoded text of token `id` alone. */
  constructor(tokenTexts: readonly string[]) {
    this.texts = tokenTexts;
    this.leadingLetters = Int32Array.from(tokenTexts, (text) => leadingLetterCount(text));
  }

  process(logits: Float32Array, context: ProcessorContext): void {
    const promptLength = context.tokens.length - context.generatedCount;
    this.indexPrompt(context.tokens, promptLength);
    const word = this.currentWord(context.tokens, promptLength);
    if (word === undefined) return;
    const ending = word.pieces === 1 || this.promptWords.has(word.text);
    for (let token = 0; token < logits.length; token += 1) {
      if (logits[token] === -Infinity) continue;
      const text = this.texts[token] ?? '';
      const letters = this.leadingLetters[token] ?? 0;
      let allowed: boolean;
      if (letters === 0) allowed = ending;
      else {
        const grown = word.text + text.slice(0, letters);
        allowed = letters === text.length ? this.promptPrefixes.has(grown) : this.promptWords.has(grown);
      }
      if (!allowed) logits[token] = -Infinity;
    }
  }

  /** Reads the prompt's capitalized words once per prompt (rows of a batch may differ). */
  private indexPrompt(tokens: readonly number[], promptLength: number): void {
    if (this.promptTokens !== undefined && samePrefix(this.promptTokens, tokens, promptLength)) return;
    this.promptTokens = tokens.slice(0, promptLength);
    const text = this.promptTokens.map((token) => this.texts[token] ?? '').join('');
    this.promptWords = new Set(wordsOf(text));
    this.promptPrefixes = new Set();
    for (const word of this.promptWords)
      for (let length = 1; length <= word.length; length += 1) this.promptPrefixes.add(word.slice(0, length));
  }

  /**
   * The capitalized word the output is in the middle of (its text so far and how many tokens
   * spelled it), or undefined when the output does not end inside one.
   */
  private currentWord(
    tokens: readonly number[],
    promptLength: number,
  ): { text: string; pieces: number } | undefined {
    let text = '';
    let pieces = 0;
    for (let index = tokens.length - 1; index >= promptLength; index -= 1) {
      const piece = this.texts[tokens[index]] ?? '';
      const letters = this.leadingLetters[tokens[index]] ?? 0;
      if (letters > 0 && letters === piece.length) {
        text = piece + text; // a piece inside the word ("ai" in " Kr|ai|hund")
        pieces += 1;
        continue;
      }
      const tail = /\p{L}+$/u.exec(piece); // the word's first piece (" Kr"), or none
      if (tail !== null) {
        text = tail[0] + text;
        pieces += 1;
      }
      break;
    }
    return pieces > 0 && upper.test(text) ? { text, pieces } : undefined;
  }
}

function leadingLetterCount(text: string): number {
  let count = 0;
  for (const character of text) {
    if (!letter.test(character)) break;
    count += character.length;
  }
  return count;
}

function samePrefix(prompt: readonly number[], tokens: readonly number[], length: number): boolean {
  if (prompt.length !== length) return false;
  for (let index = 0; index < length; index += 1) if (prompt[index] !== tokens[index]) return false;
  return true;
}
