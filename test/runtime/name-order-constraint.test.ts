import { describe, expect, it } from 'vitest';
import { NameOrderProcessor, nameOrderOf } from '../../src/runtime/generation/name-order-constraint.js';

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

  it('reads a question right after a special token as a sentence start ("<|user|>Were Kaixpiond…")', () => {
    const order = nameOrderOf('<|user|>Were Kaixpiond Brisbae and Holgo Braesaer born?<|end|>');
    expect([...order.starts].sort()).toEqual(['Holgo', 'Kaixpiond', 'Were']);
    expect(order.successors.has('Were')).toBe(false);
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
