import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyNamesRecipe } from '../../src/decoding/copy-names/recipe.js';
import { brickRecipe, normalizedDecoding, recipeSettings } from '../../src/decoding/registry.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { fixtureTokenizerFiles, temporaryDirectory } from '../student/hugging-face-fixtures.js';

describe('decoding recipe registry', () => {
  it('reads a brick.json from before recipes as copy-names when a helper is on, and plain otherwise', () => {
    expect(brickRecipe({ copyConstraint: true, copyBias: 8 })).toBe(copyNamesRecipe);
    expect(brickRecipe({ coverageSamples: 8 })).toBe(copyNamesRecipe);
    expect(brickRecipe({ copyBias: 0, copyConstraint: false })).toBeUndefined();
    expect(brickRecipe(undefined)).toBeUndefined();
  });

  it('refuses an unknown recipe and a version this dnc does not have, saying how to fix it', () => {
    expect(() => brickRecipe({ recipe: { id: 'copy-all', version: 1 } })).toThrow(
      /unknown decoding recipe 'copy-all'; known recipes: copy-names/,
    );
    expect(() => brickRecipe({ recipe: { id: 'copy-names', version: copyNamesRecipe.version + 1 } })).toThrow(
      /re-export the brick with `dnc export --decoding copy-names`/,
    );
  });

  it("turns a recipe on with its defaults, the overrides and the trainer's fitted data", () => {
    const settings = recipeSettings(
      'copy-names',
      { copyBias: 3 },
      {
        answerTerms: ['CEO'],
        answerAssociations: { 'fewer inhabitants': ['smaller'] },
      },
    );
    expect(settings).toEqual({
      recipe: { id: 'copy-names', version: copyNamesRecipe.version },
      ...copyNamesRecipe.defaults,
      copyBias: 3,
      knownTerms: ['CEO'],
      associations: { 'fewer inhabitants': ['smaller'] },
    });
    // Settings from before recipes keep their values: no defaults are added.
    expect(normalizedDecoding({ copyBias: 2 })).toEqual({
      recipe: { id: 'copy-names', version: copyNamesRecipe.version },
      copyBias: 2,
    });
    expect(normalizedDecoding({})).toBeUndefined();
  });

  it('copy-names refuses a pretrained tokenizer (names of one token would pass unseen)', async () => {
    const directory = await temporaryDirectory('dnc-recipe-tokenizer-');
    await mkdir(directory, { recursive: true });
    const { tokenizerJson, tokenizerConfig } = fixtureTokenizerFiles();
    await writeFile(join(directory, 'tokenizer.json'), JSON.stringify(tokenizerJson));
    await writeFile(join(directory, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
    const tokenizer = await Tokenizer.load(directory);
    expect(tokenizer.kind).toBe('pretrained');
    expect(() => copyNamesRecipe.prepare(recipeSettings('copy-names'), tokenizer)).toThrow(
      /copy-names decoding recipe needs a tokenizer dnc trained.*export without `--decoding`/,
    );
  });
});
