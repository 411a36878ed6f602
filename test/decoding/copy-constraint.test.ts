import { describe, expect, it } from 'vitest';
import { CopyConstraintProcessor } from '../../src/decoding/copy-names/copy-constraint.js';

// A toy vocabulary: what each token id reads as alone.
const texts = [' Kr', 'ai', 'hund', 'kund', ' born', '?', ' Which', ' Vel', 'h', ' the', 'nd'];
const id = (text: string) => texts.indexOf(text);
const promptTexts = [' Which', ' Kr', 'ai', 'hund', ' Vel', ' born', '?'];
const prompt = promptTexts.map(id);

/**
 * The tokens (texts, in id order) the processor leaves open over the toy vocabulary `vocabulary`
 * after `prompt` then `generated`, all written as token texts.
 */
function openTokens(
  vocabulary: string[],
  prompt: string[],
  generated: string[],
  knownTerms?: string[],
): string[] {
  const logits = new Float32Array(vocabulary.length);
  const tokens = [...prompt, ...generated].map((text) => vocabulary.indexOf(text));
  new CopyConstraintProcessor(vocabulary, knownTerms).process(logits, {
    tokens,
    generatedCount: generated.length,
  });
  return vocabulary.filter((_, token) => logits[token] !== -Infinity);
}

const allowedAfter = (generated: string[]) => openTokens(texts, promptTexts, generated);

describe('copy constraint', () => {
  it('lets a name started from the prompt go on only as the prompt spells it', () => {
    const open = allowedAfter([' Which', ' Kr', 'ai']);
    expect(open).toContain('hund');
    expect(open).not.toContain('kund');
    // "Krai" is not a word of the prompt, so nothing may end it yet.
    expect(open).not.toContain('?');
    expect(open).not.toContain(' born');
  });

  it('lets a name end once it is a whole word of the prompt', () => {
    const open = allowedAfter([' Kr', 'ai', 'hund']);
    expect(open).toEqual(expect.arrayContaining([' born', '?', ' Vel']));
    expect(open).not.toContain('h');
  });

  it('never constrains a capitalized word written as one token, nor lower-case words', () => {
    expect(allowedAfter([' Which'])).toEqual(
      texts.filter(
        (text) => text !== 'h' && text !== 'ai' && text !== 'hund' && text !== 'kund' && text !== 'nd',
      ),
    );
    expect(allowedAfter([' the'])).toEqual(texts);
    expect(allowedAfter([])).toEqual(texts);
  });

  it('leaves already masked tokens masked and reads each row its own prompt', () => {
    const logits = new Float32Array(texts.length);
    logits[id('hund')] = -Infinity;
    const processor = new CopyConstraintProcessor(texts);
    processor.process(logits, { tokens: [...prompt, id(' Kr'), id('ai')], generatedCount: 2 });
    expect(logits[id('hund')]).toBe(-Infinity);
    // Another prompt without "Kraihund": the same output may no longer continue that way.
    const other = new Float32Array(texts.length);
    processor.process(other, { tokens: [id(' Vel'), id(' Kr'), id('ai')], generatedCount: 2 });
    expect(other[id('hund')]).toBe(-Infinity);
  });
});

describe('copy constraint on numbers', () => {
  const numberTexts = [' than', ' 82', ',', '000', '?', ' 8', '2', '00', '0', ' #', '1', ' have'];
  const openAfter = (generated: string[]) =>
    openTokens(numberTexts, [' than', ' 82', ',', '000', '?'], generated); // " than 82,000?"

  it('lets a number grow only into a prompt number, read without its thousands commas', () => {
    const open = openAfter([' than', ' 8', '2', '00']);
    expect(open).toContain('0');
    expect(open).not.toContain('00');
    expect(open).not.toContain('?');
    expect(openAfter([' than', ' 8', '2', '00', '0'])).toContain('?');
  });

  it('lets a number written as one token end (the 1 of #1), but not grow out of the prompt', () => {
    const open = openAfter([' #', '1']);
    expect(open).toEqual(expect.arrayContaining([' have', '?', ' than']));
    expect(open).not.toContain('2');
  });

  it("lets a number start only as a prompt number starts, except after '#' or at a line start", () => {
    const texts = [
      ' than',
      ' 1',
      ',',
      '259',
      '?',
      ' 19',
      ' 12',
      '59',
      ' #',
      '2',
      '\n',
      '.',
      ' after',
      '1259',
      ' ',
    ];
    const open = (generated: string[]) => openTokens(texts, [' than', ' 1', ',', '259', '?'], generated);
    const afterThan = open([' than']);
    expect(afterThan).toContain(' 12'); // a prefix of 1259
    expect(afterThan).not.toContain(' 19'); // "1,259" started as "19"
    expect(open([' after'])).not.toContain('2'); // "after2"
    expect(open([' after', ' '])).toContain('1259'); // the whole number in one piece
    expect(open([' #'])).toContain('2'); // a step reference
    expect(open(['?', '\n'])).toContain('2'); // the numbering of the next step
    expect(open([])).toContain('2'); // the numbering of the first step
  });
});

describe('copy constraint with known terms', () => {
  const wordTexts = [' W', 'hat', ' is', '?'];
  const open = (knownTerms?: string[]) =>
    openTokens(wordTexts, [' is', '?'], [' W'], knownTerms).includes('hat');

  it('lets the brick spell its own template words that the prompt lacks ("What" as W|hat)', () => {
    expect(open()).toBe(false);
    expect(open(['What'])).toBe(true);
  });
});
