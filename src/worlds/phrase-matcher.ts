/**
 * Phrase patterns ("Do {X} and {Y} work for the same company?") matched in time linear in the
 * text. The regex `compilePhrase` builds for two or more free-text slots (`.+?` each) backtracks
 * quadratically on a text that almost fits ("Do x and x and … y", the last literal missing):
 * every way to end `X` is tried, and each one rescans the rest for `Y`. Written by hand because
 * that backtracking is the defect: matching a free-text slot only needs to know how far right
 * the rest of the pattern can still start, and that bound is one right-to-left scan per literal.
 *
 * Semantics are the regex's (anchored, case-insensitive, elastic spaces and commas, each slot
 * the shortest non-empty text that lets the rest match). Patterns with bounded slots (numbers,
 * names, words) or a repeated slot keep the regex, whose backtracking those slots bound.
 * Every call adds its work to an optional meter: one unit per literal tried at one position
 * (a literal is a few words, so a try costs a bounded number of characters), and one unit
 * per character for the texts handed to a regex.
 */
import { compilePhrase, literalPattern, tidySentence, type SlotKind } from './text.js';

/** Counts matching work (tests assert that it grows linearly with the text). */
export interface WorkMeter {
  steps: number;
}

export type PhraseGroups = Record<string, string>;

export interface PhraseMatcher {
  /** The named slots when the whole of `text` matches; undefined otherwise. */
  exec(text: string, meter?: WorkMeter): PhraseGroups | undefined;
}

/** A literal piece between slots, as sticky regexes: greedy (what the regex prefers) and lazy (shortest). */
interface Literal {
  greedy: RegExp;
  lazy: RegExp;
  /** Greedy, and anchored at the end of the text (for the last piece). */
  final: RegExp;
  /** Search the whole text for the piece (anywhere; at its end): a quick way to rule a text out. */
  present: RegExp;
  presentAtEnd: RegExp;
  empty: boolean;
}

function compileLiteral(text: string): Literal {
  const source = literalPattern(text);
  const lazySource = source.replace(/\\s\*/g, '\\s*?').replace(/\\s\+/g, '\\s+?').replace(/,\?/g, ',??');
  return {
    greedy: new RegExp(source, 'iy'),
    lazy: new RegExp(lazySource, 'iy'),
    final: new RegExp(`${source}$`, 'iy'),
    present: new RegExp(source, 'i'),
    presentAtEnd: new RegExp(`${source}$`, 'i'),
    empty: text === '',
  };
}

/** End of `regex`'s match at `position`, or -1. */
function endAt(regex: RegExp, text: string, position: number, meter: WorkMeter): number {
  meter.steps += 1;
  regex.lastIndex = position;
  return regex.test(text) ? regex.lastIndex : -1;
}

const lineTerminator = /[\n\r\u2028\u2029]/;

class FreeSlotMatcher implements PhraseMatcher {
  constructor(
    private readonly names: string[],
    /** names.length + 1 literals: before the first slot, between slots, after the last. */
    private readonly literals: Literal[],
  ) {}

  exec(text: string, meter: WorkMeter = { steps: 0 }): PhraseGroups | undefined {
    // `.` does not cross a line terminator; the texts matched here never hold one (tidySentence).
    meter.steps += 1;
    if (lineTerminator.test(text)) return undefined;
    const start = endAt((this.literals[0] as Literal).greedy, text, 0, meter);
    if (start === -1 || !this.allPresent(text, meter)) return undefined;
    const latest = this.latestStarts(text, meter);
    if (latest === undefined || start > (latest[0] as number)) return undefined;
    return this.assign(text, start, latest, meter);
  }

  /**
   * Whether every piece occurs in the text (the last one at its end): one native scan of the
   * text per piece (each piece is a flat pattern, so a scan is linear), which rules out most
   * texts that a phrase does not fit before the position-by-position work below.
   */
  private allPresent(text: string, meter: WorkMeter): boolean {
    const last = this.literals.length - 1;
    return this.literals.every((literal, index) => {
      if (index === 0 || literal.empty) return true;
      meter.steps += text.length;
      return (index === last ? literal.presentAtEnd : literal.present).test(text);
    });
  }

  /**
   * latest[i]: the last position slot i may start at with the rest of the pattern still
   * matching. Monotone: a slot is free text, so if the rest matches from r it matches from any
   * earlier start too. One right-to-left scan per literal.
   */
  private latestStarts(text: string, meter: WorkMeter): number[] | undefined {
    const slots = this.names.length;
    const latest = new Array<number>(slots);
    const last = this.literals[slots] as Literal;
    let bound = -1;
    for (let position = text.length; position >= 1 && bound === -1; position -= 1)
      if (endAt(last.final, text, position, meter) !== -1) bound = position;
    if (bound === -1) return undefined;
    latest[slots - 1] = bound - 1;
    for (let slot = slots - 2; slot >= 0; slot -= 1) {
      const literal = this.literals[slot + 1] as Literal;
      const next = latest[slot + 1] as number;
      let found = -1;
      for (let position = next; position >= 1 && found === -1; position -= 1) {
        const end = endAt(literal.lazy, text, position, meter);
        if (end !== -1 && end <= next) found = position;
      }
      if (found === -1) return undefined;
      latest[slot] = found - 1;
    }
    return latest;
  }

  /** Left to right: each slot takes the shortest text after which the rest can still match. */
  private assign(text: string, start: number, latest: number[], meter: WorkMeter): PhraseGroups | undefined {
    const groups: PhraseGroups = {};
    let position = start;
    for (let slot = 0; slot < this.names.length; slot += 1) {
      const found = this.slotEnd(text, slot, position, latest, meter);
      if (found === undefined) return undefined;
      groups[this.names[slot] as string] = text.slice(position, found.slotEnd);
      position = found.next;
    }
    return groups;
  }

  /** Where slot `slot` (starting at `position`) ends, and where the literal after it ends. */
  private slotEnd(
    text: string,
    slot: number,
    position: number,
    latest: number[],
    meter: WorkMeter,
  ): { slotEnd: number; next: number } | undefined {
    const literal = this.literals[slot + 1] as Literal;
    if (slot === this.names.length - 1) {
      if (literal.empty)
        return position < text.length ? { slotEnd: text.length, next: text.length } : undefined;
      for (let slotEnd = position + 1; slotEnd <= text.length; slotEnd += 1)
        if (endAt(literal.final, text, slotEnd, meter) !== -1) return { slotEnd, next: text.length };
      return undefined;
    }
    const bound = latest[slot + 1] as number;
    for (let slotEnd = position + 1; slotEnd <= bound; slotEnd += 1) {
      const greedy = endAt(literal.greedy, text, slotEnd, meter);
      if (greedy === -1) continue;
      if (greedy <= bound) return { slotEnd, next: greedy };
      const lazy = endAt(literal.lazy, text, slotEnd, meter);
      if (lazy !== -1 && lazy <= bound) return { slotEnd, next: lazy };
    }
    return undefined;
  }
}

class RegexMatcher implements PhraseMatcher {
  constructor(private readonly regex: RegExp) {}

  exec(text: string, meter: WorkMeter = { steps: 0 }): PhraseGroups | undefined {
    meter.steps += text.length + 1;
    const groups = this.regex.exec(text)?.groups;
    if (groups === undefined) return undefined;
    return Object.fromEntries(
      Object.entries(groups).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
  }
}

/** Compiles a phrase such as "Which was founded earlier, {X} or {Y}?" (see `compilePhrase`). */
export function compilePhraseMatcher(
  text: string,
  slotKinds: Readonly<Record<string, SlotKind>> = {},
): PhraseMatcher {
  const body = tidySentence(text);
  const names: string[] = [];
  const pieces: string[] = [];
  let last = 0;
  for (const match of body.matchAll(/\{(\w+)\}/g)) {
    pieces.push(body.slice(last, match.index));
    names.push(match[1] as string);
    last = (match.index ?? 0) + match[0].length;
  }
  pieces.push(body.slice(last));
  const freeText = names.every((name) => (slotKinds[name] ?? 'phrase') === 'phrase');
  if (names.length === 0 || !freeText || new Set(names).size !== names.length)
    return new RegexMatcher(compilePhrase(text, slotKinds));
  return new FreeSlotMatcher(names, pieces.map(compileLiteral));
}
