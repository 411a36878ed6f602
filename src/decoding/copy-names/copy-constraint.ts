/**
 * Copy constraint: the names and numbers an output spells with two or more tokens must be names
 * and numbers of the prompt.
 *
 * A decomposer's names and numbers come from the question ("Does Kraihund Vel have more than
 * 82,000,000 employees?"), but a small student that starts one right often drifts in its later
 * pieces ("Kraikund", "8200000"), and a strict solver then cannot answer. This processor is
 * constrained decoding in the manner of GENRE's prefix trie, with the prompt's terms as the trie.
 * A term is a capitalized word or a run of digits (the prompt's numbers are read without their
 * thousands commas, as sub-questions write them). While the output is inside a term, a token
 * that continues it is allowed only if the term stays a prefix of a prompt term, and a token
 * that ends it only if the term is complete. The model still chooses which term to write (its
 * first piece is free), and a term the tokenizer spells as one token ("Which", "How", the "1" of
 * "#1") is never constrained, so the template's own words pass. Lower-case words are left alone.
 *
 * A number's first piece is not free: outside a term, a token that starts a run of digits must
 * start a prompt number (all of it, if the token ends the run), unless the digits follow `#` or
 * begin a line (the step references and numbering of the decomposition format). Without this a
 * student may start "1,259" as "19" and go on with anything.
 *
 * Written by hand: no library offers logits processors for our generation loop.
 */
import type { LogitsProcessor, ProcessorContext } from '../logits-processor.js';

type RunKind = 'letters' | 'digits';

const kindOf = (character: string): RunKind | undefined =>
  /\p{L}/u.test(character) ? 'letters' : /\p{Nd}/u.test(character) ? 'digits' : undefined;

/** The capitalized words of a text (the word half of what the constraint calls terms). */
export function capitalizedWords(text: string): string[] {
  return text.match(/\p{Lu}\p{L}*/gu) ?? [];
}

/** The prompt's terms: capitalized words, and digit runs with thousands commas removed. */
function termsOf(text: string): string[] {
  const words = capitalizedWords(text);
  const numbers = text.replace(/(?<=\d),(?=\d{3})/g, '').match(/\p{Nd}+/gu) ?? [];
  return [...words, ...numbers];
}

/** A token's leading run of letters or of digits: its kind and length (0 when it starts otherwise). */
interface LeadingRun {
  kind: RunKind | undefined;
  length: number;
}

export class CopyConstraintProcessor implements LogitsProcessor {
  readonly name = 'copy-constraint';
  private readonly texts: readonly string[];
  private readonly runs: readonly LeadingRun[];
  private readonly numberStarts: readonly (NumberStart | undefined)[];
  private readonly knownTerms: readonly string[];
  private promptTokens: readonly number[] | undefined;
  private promptTerms = new Set<string>();
  private promptPrefixes = new Set<string>();

  /**
   * `tokenTexts[id]` is the decoded text of token `id` alone; `knownTerms` are terms the brick
   * may write although the prompt lacks them (its template's own words, e.g. "What").
   */
  constructor(tokenTexts: readonly string[], knownTerms: readonly string[] = []) {
    this.texts = tokenTexts;
    this.runs = tokenTexts.map(leadingRun);
    this.numberStarts = tokenTexts.map(numberStart);
    this.knownTerms = knownTerms;
  }

  process(logits: Float32Array, context: ProcessorContext): void {
    const promptLength = context.tokens.length - context.generatedCount;
    this.indexPrompt(context.tokens, promptLength);
    const term = this.currentTerm(context.tokens, promptLength);
    if (term === undefined) {
      this.constrainNumberStarts(logits, context.tokens, promptLength);
      return;
    }
    const canEnd = term.pieces === 1 || this.promptTerms.has(term.text);
    for (let token = 0; token < logits.length; token += 1) {
      if (logits[token] === -Infinity) continue;
      const text = this.texts[token] ?? '';
      const run = this.runs[token]!;
      let allowed: boolean;
      if (run.kind === term.kind && run.length > 0) {
        const grown = term.text + text.slice(0, run.length);
        allowed = run.length === text.length ? this.promptPrefixes.has(grown) : this.promptTerms.has(grown);
      } else allowed = canEnd;
      if (!allowed) logits[token] = -Infinity;
    }
  }

  /** Outside a term: closes tokens that start a digit run no prompt number starts with. */
  private constrainNumberStarts(logits: Float32Array, tokens: readonly number[], promptLength: number): void {
    const last = promptLength < tokens.length ? (this.texts[tokens[tokens.length - 1]!] ?? '') : '\n';
    const before = last.slice(-1);
    for (let token = 0; token < logits.length; token += 1) {
      if (logits[token] === -Infinity) continue;
      const start = this.numberStarts[token]!;
      if (start === undefined) continue;
      const preceding = start.offset === 0 ? before : (this.texts[token] ?? '').charAt(start.offset - 1);
      if (preceding === '#' || preceding === '\n') continue;
      const allowed = start.complete
        ? this.promptTerms.has(start.digits)
        : this.promptPrefixes.has(start.digits);
      if (!allowed) logits[token] = -Infinity;
    }
  }

  /** Reads the prompt's terms (and adds the known ones) once per prompt (rows of a batch may differ). */
  private indexPrompt(tokens: readonly number[], promptLength: number): void {
    if (this.promptTokens !== undefined && samePrefix(this.promptTokens, tokens, promptLength)) return;
    this.promptTokens = tokens.slice(0, promptLength);
    const text = this.promptTokens.map((token) => this.texts[token] ?? '').join('');
    this.promptTerms = new Set([...termsOf(text), ...this.knownTerms]);
    this.promptPrefixes = new Set();
    for (const term of this.promptTerms)
      for (let length = 1; length <= term.length; length += 1) this.promptPrefixes.add(term.slice(0, length));
  }

  /**
   * The term the output is in the middle of (a capitalized word or a number: its text so far,
   * its kind and how many tokens spelled it), or undefined when the output does not end in one.
   */
  private currentTerm(
    tokens: readonly number[],
    promptLength: number,
  ): { text: string; kind: RunKind; pieces: number } | undefined {
    const last = promptLength < tokens.length ? (this.texts[tokens[tokens.length - 1]!] ?? '') : '';
    const kind = kindOf(last.slice(-1));
    if (kind === undefined) return undefined;
    let text = '';
    let pieces = 0;
    for (let index = tokens.length - 1; index >= promptLength; index -= 1) {
      const piece = this.texts[tokens[index]!] ?? '';
      const run = this.runs[tokens[index]!]!;
      if (run.kind === kind && run.length === piece.length) {
        text = piece + text; // a piece inside the term ("ai" in " Kr|ai|hund")
        pieces += 1;
        continue;
      }
      const tail = trailingRun(piece, kind); // the term's first piece (" Kr"), or none
      if (tail !== '') {
        text = tail + text;
        pieces += 1;
      }
      break;
    }
    if (kind === 'letters' && !/^\p{Lu}/u.test(text)) return undefined;
    return { text, kind, pieces };
  }
}

function leadingRun(text: string): LeadingRun {
  const kind = kindOf(text.charAt(0));
  if (kind === undefined) return { kind, length: 0 };
  let length = 0;
  for (const character of text) {
    if (kindOf(character) !== kind) break;
    length += character.length;
  }
  return { kind, length };
}

/** The first digit run of a token: where it starts, its digits, and whether it ends inside the token. */
interface NumberStart {
  offset: number;
  digits: string;
  complete: boolean;
}

function numberStart(text: string): NumberStart | undefined {
  const match = /\p{Nd}+/u.exec(text);
  if (match === null) return undefined;
  const end = match.index + match[0].length;
  return { offset: match.index, digits: match[0], complete: end < text.length };
}

function trailingRun(text: string, kind: RunKind): string {
  let start = text.length;
  while (start > 0 && kindOf(text.charAt(start - 1)) === kind) start -= 1;
  return text.slice(start);
}

/** Whether `prompt` is exactly the first `length` of `tokens` (a processor's per-prompt cache key). */
export function samePrefix(prompt: readonly number[], tokens: readonly number[], length: number): boolean {
  if (prompt.length !== length) return false;
  for (let index = 0; index < length; index += 1) if (prompt[index] !== tokens[index]) return false;
  return true;
}
