import { describe, expect, it } from 'vitest';
import { findReferences, substituteReferences } from '../../src/data/subquestion-references.js';

describe('sub-question references', () => {
  it('substitutes earlier answers for #k', () => {
    expect(substituteReferences('Where was #1 born, and is #2 bigger than #1?', ['Alva Mirren', '12'])).toBe(
      'Where was Alva Mirren born, and is 12 bigger than Alva Mirren?',
    );
  });

  it('leaves a reference to a missing answer untouched', () => {
    expect(substituteReferences('What is #3 plus 2?', ['1'])).toBe('What is #3 plus 2?');
  });

  it('distinguishes #1 from #12', () => {
    const answers = Array.from({ length: 12 }, (_, index) => `a${index + 1}`);
    expect(substituteReferences('#12 and #1', answers)).toBe('a12 and a1');
    expect(findReferences('#12 and #1 and #12')).toEqual([12, 1]);
  });
});
