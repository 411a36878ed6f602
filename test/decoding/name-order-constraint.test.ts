import { describe, expect, it } from 'vitest';
import { NameOrderProcessor, nameOrderOf } from '../../src/decoding/copy-names/name-order-constraint.js';

// A toy vocabulary: what each token id reads as alone.
const vocabulary = [
  'Question',
  ':',
  ' Were',
  ' Kaix',
  'piond',
  ' Bris',
  'bae',
  ' and',
  ' Holgo',
  ' Bra',
  'esaer',
  ' born',
  '?',
  '1',
  '.',
  ' Where',
  ' was',
  ' CEO',
  ' ',
  'Holgo',
  ' Question',
];
const prompt = vocabulary.slice(0, vocabulary.indexOf('?') + 1); // "Question: Were Kaixpiond Brisbae and Holgo Braesaer born?"

/** The tokens the processor leaves open after the prompt and `generated` (token texts). */
function openAfter(generated: string[], knownTerms: string[] = []): string[] {
  const logits = new Float32Array(vocabulary.length);
  const tokens = [...prompt, ...generated].map((text) => vocabulary.indexOf(text));
  new NameOrderProcessor(vocabulary, knownTerms).process(logits, {
    tokens,
    generatedCount: generated.length,
  });
  return vocabulary.filter((_, token) => logits[token] !== -Infinity);
}

describe('name-order constraint', () => {
  it('reads which prompt names follow which, which start names and which never end one', () => {
    const order = nameOrderOf('Question: Were Kaixpiond Brisbae and Holgo Braesaer born?');
    expect([...(order.successors.get('Holgo') ?? [])]).toEqual(['Braesaer']);
    expect([...order.starts].sort()).toEqual(['Holgo', 'Kaixpiond', 'Were']);
    expect([...order.continued].sort()).toEqual(['Holgo', 'Kaixpiond']);
  });

  it('lets a name continue only with the word that follows it in the prompt', () => {
    const open = openAfter(['1', '.', ' Where', ' was', ' Holgo']);
    expect(open).toContain(' Bra');
    expect(open).not.toContain(' Kaix');
    expect(open).not.toContain(' Bris');
  });

  it('starts names only where the prompt starts one: the surname alone is closed', () => {
    const open = openAfter(['1', '.', ' Where', ' was']);
    expect(open).toEqual(expect.arrayContaining([' Holgo', ' Kaix', ' born', '?']));
    expect(open).not.toContain(' Bra');
    expect(open).not.toContain(' Bris');
  });

  it('does not end a name the prompt always continues, but lets a finished one end', () => {
    const cut = openAfter(['1', '.', ' Where', ' was', ' Holgo']);
    expect(cut).not.toContain(' born');
    expect(cut).not.toContain('?');
    expect(cut).toContain(' '); // a lone space may precede the next word's first piece
    const whole = openAfter(['1', '.', ' Where', ' was', ' Holgo', ' Bra', 'esaer']);
    expect(whole).toEqual(expect.arrayContaining([' born', '?']));
    expect(whole).not.toContain(' Holgo');
  });

  it('treats a label ("Question:") as no name, and lets known terms start mid-sentence', () => {
    expect(openAfter(['1', '.', ' Where', ' was'])).not.toContain(' Question');
    expect(openAfter(['1', '.', ' Where', ' was'])).not.toContain(' CEO');
    expect(openAfter(['1', '.', ' Where', ' was'], ['CEO'])).toContain(' CEO');
  });

  it("reads a question right after one of the tokenizer's special tokens as a sentence start", () => {
    // A template that spells its turn markers without `|>`: the special tokens, not their text, decide.
    const texts = [
      '[INST]',
      'Were',
      ' Kaix',
      'piond',
      ' and',
      ' Holgo',
      ' born',
      '?',
      '[/INST]',
      '1',
      '.',
      ' Where',
      ' was',
    ];
    const promptTokens = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const open = (boundaries: Set<number>) => {
      const logits = new Float32Array(texts.length);
      const generated = [9, 10, 11, 12]; // "1. Where was"
      new NameOrderProcessor(texts, [], boundaries).process(logits, {
        tokens: [...promptTokens, ...generated],
        generatedCount: generated.length,
      });
      return texts.filter((_, token) => logits[token] !== -Infinity);
    };
    expect(open(new Set([0, 8]))).toContain(' Kaix');
    // Read as text, "[INST]Were" makes "Were" a name inside a sentence, and "Kaixpiond" only its successor.
    expect(open(new Set())).not.toContain(' Kaix');
    expect(nameOrderOf('\nWere Kaixpiond Brisbae and Holgo Braesaer born?').starts).toContain('Kaixpiond');
  });

  it('leaves the start of a sentence free', () => {
    expect(openAfter([])).toEqual(vocabulary);
    expect(openAfter(['1', '.'])).toEqual(vocabulary);
  });

  it('closes nothing when its rule would close every token still open', () => {
    const logits = new Float32Array(vocabulary.length).fill(-Infinity);
    logits[vocabulary.indexOf(' Bra')] = 0;
    const generated = ['1', '.', ' Where', ' was'];
    const tokens = [...prompt, ...generated].map((text) => vocabulary.indexOf(text));
    new NameOrderProcessor(vocabulary).process(logits, { tokens, generatedCount: generated.length });
    expect(logits[vocabulary.indexOf(' Bra')]).toBe(0);
  });
});
