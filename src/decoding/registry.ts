/**
 * The decoding recipes dnc knows, by id, and how a brick's `decoding` settings name one. A
 * brick.json written before recipes existed has helper settings (copy constraint, biases, fault
 * check) but no `recipe`: it reads as `copy-names`, the recipe with the same behaviour, so old
 * bricks decode as they did.
 */
import type { BrickDecoding } from '../bricks/brick-manifest.js';
import { copyNamesRecipe } from './copy-names/recipe.js';
import type { DecodingRecipe, FittedDecodingData, TrainingPair } from './recipe.js';

export const decodingRecipes: ReadonlyMap<string, DecodingRecipe> = new Map(
  [copyNamesRecipe].map((recipe) => [recipe.id, recipe]),
);

/** The recipe an id names; throws one line listing the known ids otherwise. */
export function recipeById(id: string): DecodingRecipe {
  const recipe = decodingRecipes.get(id);
  if (recipe === undefined)
    throw new Error(
      `unknown decoding recipe '${id}'; known recipes: ${[...decodingRecipes.keys()].join(', ')} (or none)`,
    );
  return recipe;
}

/**
 * The trainer's fit step: what the recipes learn from the training pairs (today only copy-names
 * fits anything; its known terms and word associations go into the checkpoint manifest).
 */
export function fitDecodingData(pairs: readonly TrainingPair[]): FittedDecodingData {
  return copyNamesRecipe.fit(pairs);
}

/** Every recipe's version (what a brick-call cache keys local calls by). */
export function recipeVersions(): Record<string, number> {
  return Object.fromEntries([...decodingRecipes.values()].map((recipe) => [recipe.id, recipe.version]));
}

/** Whether settings without a `recipe` turn on any helper (a brick.json from before recipes). */
function legacyHelpersOn(decoding: BrickDecoding): boolean {
  return (
    decoding.copyConstraint === true ||
    decoding.nameOrder === true ||
    (decoding.copyBias ?? 0) > 0 ||
    (decoding.promptWordBias ?? 0) > 0 ||
    (decoding.coverageSamples ?? 0) > 0
  );
}

/**
 * The recipe a brick's decoding settings turn on (undefined: plain decoding). A recorded version
 * other than this dnc's is refused: the brick would decode differently from how it was measured.
 */
export function brickRecipe(decoding: BrickDecoding | undefined): DecodingRecipe | undefined {
  if (decoding === undefined) return undefined;
  if (decoding.recipe === undefined) return legacyHelpersOn(decoding) ? recipeById('copy-names') : undefined;
  const recipe = recipeById(decoding.recipe.id);
  if (decoding.recipe.version !== recipe.version)
    throw new Error(
      `brick.json's decoding recipe is ${recipe.id}@${decoding.recipe.version} but this dnc has ` +
        `${recipe.id}@${recipe.version}; re-export the brick with \`dnc export --decoding ${recipe.id}\``,
    );
  return recipe;
}

/**
 * Settings that turn a recipe on: its defaults, then `overrides`, recorded with the recipe's id
 * and version, and filled with the trainer's fitted data.
 */
export function recipeSettings(
  id: string,
  overrides: Omit<BrickDecoding, 'recipe'> = {},
  fitted: { answerTerms?: string[]; answerAssociations?: Record<string, string[]> } = {},
): BrickDecoding {
  const recipe = recipeById(id);
  return recipe.withFittedData(
    { recipe: { id: recipe.id, version: recipe.version }, ...recipe.defaults, ...overrides },
    fitted,
  );
}

/**
 * A `decoding` setting (pipeline or flags) as brick.json records it: with its recipe named, the
 * recipe's defaults under a `{ recipe }` that names only the recipe, and the fitted data filled in.
 */
export function normalizedDecoding(
  decoding: BrickDecoding | undefined,
  fitted: { answerTerms?: string[]; answerAssociations?: Record<string, string[]> } = {},
): BrickDecoding | undefined {
  const recipe = brickRecipe(decoding);
  if (recipe === undefined || decoding === undefined) return undefined;
  const { recipe: named, ...overrides } = decoding;
  // Settings written before recipes are kept as they are (no defaults added): the same behaviour.
  if (named === undefined)
    return recipe.withFittedData(
      { recipe: { id: recipe.id, version: recipe.version }, ...overrides },
      fitted,
    );
  return recipeSettings(recipe.id, overrides, fitted);
}
