/**
 * Byte-level BPE training, hand-written: the JavaScript tokenizer packages (@huggingface/tokenizers,
 * transformers.js) only encode and decode with an existing `tokenizer.json`; none trains one.
 *
 * Algorithm (as in Hugging Face `tokenizers`' BpeTrainer): pre-tokenize the texts into byte-level
 * words and count each distinct word once with its frequency; count adjacent symbol pairs weighted
 * by word frequency; then repeatedly merge the most frequent pair. Pair counts are updated
 * incrementally, only in the words that contain the merged pair (an index pair → words), and the
 * best pair comes from a max-heap with lazy invalidation, so a merge costs time proportional to the
 * words it touches, not to the corpus.
 */
import { byteToCharacter, preTokenize } from './byte-level.js';
import { PairHeap } from './pair-heap.js';
import { specialTokenList } from './special-tokens.js';

export interface BpeTrainingOptions {
  /** Total vocabulary size: special tokens + 256 byte tokens + learned merges. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
}

export interface BpeModel {
  /** Token strings (byte-level alphabet) in id order: special tokens, then the 256 bytes, then merges. */
  vocabulary: string[];
  /** Merge rules in priority order, each a pair of token strings. */
  merges: Array<[string, string]>;
}

/** The largest vocabulary the pair keys can address. */
export const maximumVocabSize = 1 << 17;

export const minimumVocabSize = specialTokenList.length + 256;

const pairKey = (left: number, right: number): number => left * maximumVocabSize + right;
const pairLeft = (key: number): number => Math.floor(key / maximumVocabSize);
const pairRight = (key: number): number => key % maximumVocabSize;

const specialTokenSplitter = new RegExp(
  specialTokenList.map((token) => token.replace(/[|]/g, '\\|')).join('|'),
  'g',
);

/** Counts distinct byte-level words; special-token strings in the texts are not learned from. */
function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of text.split(specialTokenSplitter)) {
      for (const word of preTokenize(piece)) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return counts;
}

interface TrainingState {
  words: number[][];
  frequencies: number[];
  pairCounts: Map<number, number>;
  pairWords: Map<number, number[]>;
  heap: PairHeap;
}

function initialState(wordCounts: Map<string, number>, byteIds: Map<string, number>): TrainingState {
  const state: TrainingState = {
    words: [],
    frequencies: [],
    pairCounts: new Map(),
    pairWords: new Map(),
    heap: new PairHeap(),
  };
  for (const [word, frequency] of wordCounts) {
    const wordIndex = state.words.length;
    const symbols = Array.from(word, (character) => byteIds.get(character) as number);
    state.words.push(symbols);
    state.frequencies.push(frequency);
    for (let position = 0; position + 1 < symbols.length; position += 1) {
      const key = pairKey(symbols[position], symbols[position + 1]);
      state.pairCounts.set(key, (state.pairCounts.get(key) ?? 0) + frequency);
      const list = state.pairWords.get(key);
      if (list === undefined) state.pairWords.set(key, [wordIndex]);
      else if (list[list.length - 1] !== wordIndex) list.push(wordIndex);
    }
  }
  for (const [key, count] of state.pairCounts) state.heap.push(count, key);
  return state;
}

/** Pops the most frequent live pair, or undefined when none reaches `minFrequency`. */
function popBestPair(state: TrainingState, minFrequency: number): number | undefined {
  while (true) {
    const entry = state.heap.pop();
    if (entry === undefined || entry.count < minFrequency) return undefined;
    const live = state.pairCounts.get(entry.key) ?? 0;
    if (live === entry.count) return entry.key;
    if (live > 0) state.heap.push(live, entry.key);
  }
}

function mergeSymbols(symbols: number[], left: number, right: number, merged: number): number[] {
  const result: number[] = [];
  for (let position = 0; position < symbols.length; position += 1) {
    if (position + 1 < symbols.length && symbols[position] === left && symbols[position + 1] === right) {
      result.push(merged);
      position += 1;
    } else {
      result.push(symbols[position]);
    }
  }
  return result;
}

/** Replaces the pair in every word that has it, updating pair counts and the heap incrementally. */
function applyMerge(
  state: TrainingState,
  key: number,
  merged: number,
  visited: Int32Array,
  stamp: number,
): void {
  const left = pairLeft(key);
  const right = pairRight(key);
  const deltas = new Map<number, number>();
  const addDelta = (pair: number, delta: number): void => {
    deltas.set(pair, (deltas.get(pair) ?? 0) + delta);
  };
  for (const wordIndex of state.pairWords.get(key) ?? []) {
    if (visited[wordIndex] === stamp) continue;
    visited[wordIndex] = stamp;
    const symbols = state.words[wordIndex];
    const next = mergeSymbols(symbols, left, right, merged);
    if (next.length === symbols.length) continue;
    const frequency = state.frequencies[wordIndex];
    for (let position = 0; position + 1 < symbols.length; position += 1) {
      addDelta(pairKey(symbols[position], symbols[position + 1]), -frequency);
    }
    for (let position = 0; position + 1 < next.length; position += 1) {
      const pair = pairKey(next[position], next[position + 1]);
      addDelta(pair, frequency);
      if (next[position] === merged || next[position + 1] === merged) {
        const list = state.pairWords.get(pair);
        if (list === undefined) state.pairWords.set(pair, [wordIndex]);
        else if (list[list.length - 1] !== wordIndex) list.push(wordIndex);
      }
    }
    state.words[wordIndex] = next;
  }
  for (const [pair, delta] of deltas) {
    if (delta === 0) continue;
    const count = (state.pairCounts.get(pair) ?? 0) + delta;
    if (count <= 0) {
      state.pairCounts.delete(pair);
      state.pairWords.delete(pair);
    } else {
      state.pairCounts.set(pair, count);
      if (delta > 0) state.heap.push(count, pair);
    }
  }
}

/** Learns a byte-level BPE vocabulary of (at most) `vocabSize` tokens from the texts. */
export function trainBpe(texts: Iterable<string>, options: BpeTrainingOptions): BpeModel {
  const { vocabSize, minFrequency = 2 } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < minimumVocabSize || vocabSize > maximumVocabSize) {
    throw new RangeError(
      `vocabSize must be an integer from ${minimumVocabSize} (special tokens + 256 bytes) to ${maximumVocabSize}, got ${vocabSize}`,
    );
  }
  const vocabulary = [...specialTokenList, ...byteToCharacter];
  const tokenIds = new Map<string, number>(vocabulary.map((token, id) => [token, id]));
  const state = initialState(countWords(texts), tokenIds);
  const merges: Array<[string, string]> = [];
  const visited = new Int32Array(state.words.length);
  while (vocabulary.length < vocabSize) {
    const key = popBestPair(state, Math.max(1, minFrequency));
    if (key === undefined) break;
    const leftToken = vocabulary[pairLeft(key)];
    const rightToken = vocabulary[pairRight(key)];
    const mergedToken = leftToken + rightToken;
    let merged = tokenIds.get(mergedToken);
    if (merged === undefined) {
      merged = vocabulary.length;
      vocabulary.push(mergedToken);
      tokenIds.set(mergedToken, merged);
    }
    merges.push([leftToken, rightToken]);
    applyMerge(state, key, merged, visited, merges.length);
  }
  return { vocabulary, merges };
}
