import { describe, expect, it } from 'vitest';
import { byteToCharacter, fromByteLevel, preTokenize, toByteLevel } from '../../src/tokenizer/byte-level.js';
import { minimumVocabSize, trainBpe } from '../../src/tokenizer/bpe-trainer.js';
import { specialTokenList } from '../../src/tokenizer/special-tokens.js';
import { randomTexts, sampleCorpus } from './random-text.js';

/** Textbook BPE: recount every pair of every word before each merge (slow, obviously right). */
function naiveMerges(texts: string[], vocabSize: number, minFrequency: number): Array<[string, string]> {
  const frequencies = new Map<string, number>();
  for (const text of texts) {
    for (const piece of text.split(/<\|(?:bos|eos|pad|system|user|assistant|end)\|>/)) {
      for (const word of preTokenize(piece)) frequencies.set(word, (frequencies.get(word) ?? 0) + 1);
    }
  }
  const vocabulary = [...specialTokenList, ...byteToCharacter];
  const ids = new Map(vocabulary.map((token, id) => [token, id]));
  let words = [...frequencies].map(([word, count]) => ({
    symbols: Array.from(word, (c) => ids.get(c)!),
    count,
  }));
  const merges: Array<[string, string]> = [];
  while (vocabulary.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i += 1) {
        const key = `${symbols[i]},${symbols[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + count);
      }
    }
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [key, count] of counts) {
      const [left, right] = key.split(',').map(Number) as [number, number];
      const better =
        count > bestCount ||
        (count === bestCount &&
          best !== undefined &&
          (left < best[0] || (left === best[0] && right < best[1])));
      if (better) [best, bestCount] = [[left, right], count];
    }
    if (best === undefined || bestCount < minFrequency) break;
    const token = vocabulary[best[0]] + vocabulary[best[1]];
    if (!ids.has(token)) {
      ids.set(token, vocabulary.length);
      vocabulary.push(token);
    }
    merges.push([vocabulary[best[0]], vocabulary[best[1]]]);
    const merged = ids.get(token)!;
    words = words.map(({ symbols, count }) => {
      const next: number[] = [];
      for (let i = 0; i < symbols.length; i += 1) {
        if (i + 1 < symbols.length && symbols[i] === best![0] && symbols[i + 1] === best![1]) {
          next.push(merged);
          i += 1;
        } else next.push(symbols[i]);
      }
      return { symbols: next, count };
    });
  }
  return merges;
}

describe('byte-level alphabet', () => {
  it('maps all 256 bytes to distinct printable characters and back', () => {
    expect(new Set(byteToCharacter).size).toBe(256);
    expect(byteToCharacter[32]).toBe('Ġ');
    expect(byteToCharacter[10]).toBe('Ċ');
    for (const text of randomTexts(200, 7)) expect(fromByteLevel(toByteLevel(text))).toBe(text);
  });
});

describe('trainBpe', () => {
  it('puts the special tokens first, then the 256 bytes, then the learned merges', () => {
    const model = trainBpe(sampleCorpus(200, 1), { vocabSize: 400 });
    expect(model.vocabulary.slice(0, specialTokenList.length)).toEqual(specialTokenList);
    expect(model.vocabulary.slice(specialTokenList.length, minimumVocabSize)).toEqual(byteToCharacter);
    expect(model.vocabulary).toHaveLength(400);
    expect(new Set(model.vocabulary).size).toBe(400);
    for (const [left, right] of model.merges) expect(model.vocabulary).toContain(left + right);
  });

  it('learns the same merges as a naive full recount (the incremental counts are exact)', () => {
    const texts = [...sampleCorpus(300, 2), ...randomTexts(60, 3)];
    for (const minFrequency of [1, 2]) {
      const model = trainBpe(texts, { vocabSize: 600, minFrequency });
      expect(model.merges).toEqual(naiveMerges(texts, 600, minFrequency));
    }
  });

  it('merges overlapping runs of one symbol correctly', () => {
    const texts = ['aaaaaaa aaaa aaa', 'aaaaaaa', 'bbbbbbbbbbbbbbbb'];
    expect(trainBpe(texts, { vocabSize: 280, minFrequency: 1 }).merges).toEqual(naiveMerges(texts, 280, 1));
  });

  it('is deterministic', () => {
    const texts = sampleCorpus(300, 4);
    expect(trainBpe(texts, { vocabSize: 600 })).toEqual(trainBpe(texts, { vocabSize: 600 }));
  });

  it('stops early when no pair is frequent enough, and never learns from special-token strings', () => {
    const model = trainBpe(['xy<|end|>', 'xy<|end|>'], { vocabSize: 1000 });
    expect(model.merges).toEqual([['x', 'y']]);
    expect(model.vocabulary).toHaveLength(minimumVocabSize + 1);
  });

  it('rejects a vocabulary smaller than the special tokens plus the 256 bytes', () => {
    expect(() => trainBpe(['a'], { vocabSize: 100 })).toThrow(/vocabSize must be an integer from 263/);
  });
});
