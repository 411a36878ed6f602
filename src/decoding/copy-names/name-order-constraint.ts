/**
 * Name-order constraint: the capitalized words of an output follow each other as they do in the
 * prompt. It completes the copy constraint (copy-constraint.ts), which checks that each word is
 * spelled as in the prompt but not which word comes next, so a small decomposer could write
 * "Where was Braesaer Braesaer born?" for "Holgo Braesaer", or "Vendplo Raenge Shioldrair" for
 * "Vendplo Raenge". A word's context is what precedes it in the output:
 *
 * - after a name (a capitalized word, not the first of its sentence, then one space): the word
 *   must be one that follows that name in the prompt ("Holgo" → "Braesaer"; "Braesaer" → none,
 *   so the name ends);
 * - after other text ("Where was", "(", "#1 "): the word must start a name of the prompt (a
 *   capitalized word not preceded by another name), or be a known term (the template's own words);
 * - at the start of a sentence: free (template words like "Which" start sentences).
 *
 * And a name the prompt always continues ("Holgo", "Lorkae" of "Lorkae Shioxfea") does not end
 * the output's name either.
 *
 * A token is open when the word it starts or continues can still become an allowed word. If the
 * rule would close every token, it closes none (it never leaves the sampler without a choice).
 *
 * Written by hand: no library offers logits processors for our generation loop.
 */
import { samePrefix } from './copy-constraint.js';
import type { LogitsProcessor, ProcessorContext } from '../logits-processor.js';

/** How the prompt's capitalized words follow each other. */
interface NameOrder {
  /** name → the capitalized words that follow it after one space somewhere in the prompt (a word
   * starting a sentence, like "Were", is no name and has none). */
  successors: Map<string, Set<string>>;
  /** Capitalized words that somewhere do not follow a name (the starts of the prompt's names). */
  starts: Set<string>;
  /** Capitalized words always followed by another ("Holgo" of "Holgo Braesaer"): no name ends on them. */
  continued: Set<string>;
}

const capitalized = /^\p{Lu}/u;
/**
 * Text ending where a sentence starts: the beginning, a new line, "1. ", "? ", ": ". A special
 * token of the tokenizer (a chat template's turn marker, "<|user|>Are Faendrend…") is read as a
 * new line, so the question right after one starts a sentence whatever the template spells.
 */
const sentenceStart = /(^|[.?!:\n])[\s\d.]*$/u;

interface Word {
  word: string;
  sentenceStart: boolean;
  /** The text between the previous word and this one. */
  gap: string;
}

function words(text: string): Word[] {
  const result: Word[] = [];
  let previousEnd = 0;
  for (const match of text.matchAll(/\p{L}+/gu)) {
    const gap = text.slice(previousEnd, match.index);
    const startsSentence = sentenceStart.test(text.slice(0, match.index));
    result.push({ word: match[0], sentenceStart: startsSentence, gap });
    previousEnd = match.index + match[0].length;
  }
  return result;
}

/**
 * Reads the prompt's name order: which capitalized word follows which, which start names and
 * which never end one. A word followed by a colon ("Question:") is a label, not a name.
 */
export function nameOrderOf(prompt: string): NameOrder {
  const successors = new Map<string, Set<string>>();
  const starts = new Set<string>();
  const ends = new Set<string>();
  const list = words(prompt);
  list.forEach((current, index) => {
    if (!capitalized.test(current.word)) return;
    const next = list[index + 1];
    if (next?.gap.startsWith(':')) return;
    const previous = list[index - 1];
    const afterName = previous !== undefined && current.gap === ' ' && capitalized.test(previous.word);
    if (afterName && !previous.sentenceStart) {
      const set = successors.get(previous.word) ?? new Set<string>();
      set.add(current.word);
      successors.set(previous.word, set);
    }
    if (!afterName || previous.sentenceStart) starts.add(current.word);
    if (next === undefined || next.gap !== ' ' || !capitalized.test(next.word)) ends.add(current.word);
  });
  const continued = new Set([...successors.keys()].filter((word) => !ends.has(word)));
  return { successors, starts, continued };
}

type Context = { kind: 'free' } | { kind: 'after-name' | 'after-text'; allowed: ReadonlySet<string> };

/** What every piece of one step is checked against. */
interface StepState {
  contexts: StepContexts;
  /** The word the output is inside ('' if none). */
  tail: string;
  /** Whether `tail` may end here (an allowed word of its context). */
  tailComplete: boolean;
  /** Whether `tail` is a name the prompt always continues, so a next name word must follow. */
  tailContinues: boolean;
}

interface StepContexts {
  /** The context of the word the output is inside. */
  tail: Context;
  /** The context of a word started by a piece with a leading space. */
  spaced: Context;
  /** The context of a word started by a piece without one (after "(", a new line...). */
  joined: Context;
}

/** Whether `word` is (complete) or may become (not complete) an allowed word of `context`. */
function allows(context: Context, word: string, complete: boolean): boolean {
  if (context.kind === 'free' || !capitalized.test(word)) return true;
  for (const candidate of context.allowed)
    if (complete ? candidate === word : candidate.startsWith(word)) return true;
  return false;
}

/**
 * Whether `piece` may follow an output ending in the word `tail`. Byte-level pieces are
 * " letters", "letters", digits, punctuation or spaces, never two words: a piece either continues
 * `tail`, or ends it (which needs `tail` complete) and, with letters, starts the next word.
 */
function isOpen(step: StepState, piece: Piece): boolean {
  const { contexts, tail } = step;
  if (tail !== '' && piece.startsWithLetter) return allows(contexts.tail, tail + piece.text, false);
  if (!step.tailComplete) return false;
  // The name must go on: with the next name word, or a lone space its first piece may follow.
  if (
    step.tailContinues &&
    !piece.loneSpace &&
    !(piece.word !== undefined && piece.spaced && piece.capitalized)
  )
    return false;
  if (piece.word === undefined) return true;
  return allows(piece.spaced ? contexts.spaced : contexts.joined, piece.word, false);
}

/** What the rule needs to know of a token's text, read once per vocabulary. */
interface Piece {
  text: string;
  startsWithLetter: boolean;
  /** The word a piece of letters (after at most one space) spells, else undefined. */
  word: string | undefined;
  spaced: boolean;
  capitalized: boolean;
  loneSpace: boolean;
}

function pieceOf(text: string): Piece {
  const match = /^( ?)(\p{L}+)$/u.exec(text);
  return {
    text,
    startsWithLetter: /^\p{L}/u.test(text),
    word: match?.[2],
    spaced: match?.[1] === ' ',
    capitalized: match !== null && capitalized.test(match[2]!),
    loneSpace: text === ' ',
  };
}

export class NameOrderProcessor implements LogitsProcessor {
  readonly name = 'name-order';
  private readonly texts: readonly string[];
  private readonly pieces: readonly Piece[];
  private readonly knownTerms: readonly string[];
  private promptTokens: readonly number[] | undefined;
  private order: NameOrder = { successors: new Map(), starts: new Set(), continued: new Set() };
  private startsOrKnown = new Set<string>();

  /**
   * `tokenTexts[id]` is the decoded text of token `id` alone; `knownTerms` as in the copy
   * constraint; `boundaryTokens` are the tokenizer's special tokens (read as a new line).
   */
  constructor(
    tokenTexts: readonly string[],
    knownTerms: readonly string[] = [],
    boundaryTokens: ReadonlySet<number> = new Set(),
  ) {
    this.texts = tokenTexts.map((text, token) => (boundaryTokens.has(token) ? '\n' : text));
    this.pieces = tokenTexts.map(pieceOf);
    this.knownTerms = knownTerms;
  }

  process(logits: Float32Array, context: ProcessorContext): void {
    const promptLength = context.tokens.length - context.generatedCount;
    const read = (from: number, to: number) =>
      context.tokens
        .slice(from, to)
        .map((token) => this.texts[token] ?? '')
        .join('');
    this.indexPrompt(context.tokens, promptLength);
    const output = read(promptLength, context.tokens.length);
    const tail = /\p{L}*$/u.exec(output)![0]; // the word the output is inside ('' if none)
    const head = output.slice(0, output.length - tail.length);
    // Three contexts cover every piece: the current word's, and a next word's with or without a space.
    const contexts: StepContexts = {
      tail: this.contextOf(head),
      spaced: this.contextOf(`${output} `),
      joined: this.contextOf(output),
    };
    const step: StepState = {
      contexts,
      tail,
      tailComplete: tail === '' || allows(contexts.tail, tail, true),
      tailContinues: contexts.tail.kind !== 'free' && this.order.continued.has(tail),
    };
    const everythingFree =
      step.tailComplete &&
      !step.tailContinues &&
      [contexts.tail, contexts.spaced, contexts.joined].every((context) => context.kind === 'free');
    if (everythingFree) return;
    const closed: number[] = [];
    let open = 0;
    for (let token = 0; token < logits.length; token += 1) {
      if (logits[token] === -Infinity) continue;
      if (isOpen(step, this.pieces[token] ?? pieceOf(''))) open += 1;
      else closed.push(token);
    }
    if (open === 0) return; // never leave the sampler without a choice
    for (const token of closed) logits[token] = -Infinity;
  }

  /** The context of a word written after `before` (see the file comment). */
  private contextOf(before: string): Context {
    if (sentenceStart.test(before)) return { kind: 'free' };
    const previous = /(\p{L}+) $/u.exec(before);
    if (previous !== null && capitalized.test(previous[1]!)) {
      const start = before.length - previous[0].length;
      if (!sentenceStart.test(before.slice(0, start)))
        return { kind: 'after-name', allowed: this.order.successors.get(previous[1]!) ?? new Set() };
    }
    return { kind: 'after-text', allowed: this.startsOrKnown };
  }

  /** Reads the prompt's name order once per prompt (rows of a batch may differ). */
  private indexPrompt(tokens: readonly number[], promptLength: number): void {
    if (this.promptTokens !== undefined && samePrefix(this.promptTokens, tokens, promptLength)) return;
    this.promptTokens = tokens.slice(0, promptLength);
    this.order = nameOrderOf(this.promptTokens.map((token) => this.texts[token] ?? '').join(''));
    this.startsOrKnown = new Set([...this.order.starts, ...this.knownTerms]);
  }
}
