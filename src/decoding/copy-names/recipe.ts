/**
 * `copy-names`: the decomposer recipe of dnc's own small-vocabulary students. A decomposer
 * re-types the names and numbers of its question, so it decodes with the copy constraint (names
 * and numbers of the prompt only), name order (names start and go on as in the prompt), a copy
 * bias and a prompt-word bias (raised by the word associations the trainer fits), and a reranker
 * that resamples a decomposition which leaves a name out, repeats a sub-question or refers
 * forward. A "name" is a capitalized word that the tokenizer spells with two or more tokens, so
 * the recipe refuses a pretrained tokenizer (its large vocabulary spells most names as one token,
 * and the helpers would silently stop applying).
 */
import { defaults } from '../../config/defaults.js';
import type { BrickDecoding } from '../../bricks/brick-manifest.js';
import type { LogitsProcessor } from '../logits-processor.js';
import { TokenBiasProcessor } from '../token-bias-processor.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { DecodingRecipe, PreparedRecipe } from '../recipe.js';
import { frequentAnswerTerms } from './answer-terms.js';
import { CopyBiasProcessor } from './copy-bias.js';
import { CopyConstraintProcessor } from './copy-constraint.js';
import { decompositionFaults, missingNames, questionNames } from './decomposition-coverage.js';
import { NameOrderProcessor } from './name-order-constraint.js';
import { PromptWordBiasProcessor } from './prompt-word-bias.js';
import { wordAssociations } from './word-associations.js';

export const copyNamesId = 'copy-names';
/**
 * 2: the copy constraint covers numbers. 3: it lets a brick's known terms pass. 4: resampling
 * also replaces decompositions that repeat a sub-question or refer forward, keeps the most likely
 * sound sample, and the name-order constraint exists. 5: the prompt-word bias also raises the
 * answer words a question's wording predicts (word associations). 6: a number must start as a
 * prompt number does. 7: name order reads a question right after a special token as a sentence
 * start (since the recipe module: the tokenizer's special tokens, not the template's `|>`).
 */
export const copyNamesVersion = 7;

/** The copy-bias processor from the settings (none when the bias is 0 or unset). */
function copyBiasProcessor(
  settings: BrickDecoding,
  tokenTexts: readonly string[],
): CopyBiasProcessor | undefined {
  const { copyBias = 0, copyMinMatch, copyScope = 'word' } = settings;
  if (copyBias === 0) return undefined;
  if (copyScope === 'any') return new CopyBiasProcessor({ bias: copyBias, minMatch: copyMinMatch });
  // `word`: pieces inside a word always; the start of a capitalized word or a number (the next
  // word of a name) only after a long match. Punctuation and lower-case words stay the model's
  // choice, so a copy does not run on past where the output turns away from the prompt.
  const eligibleTokens = new Set<number>();
  const longMatchTokens = new Set<number>();
  tokenTexts.forEach((text, token) => {
    if (/^[\p{L}\p{N}]/u.test(text)) eligibleTokens.add(token);
    else if (/^ [\p{Lu}\p{N}]/u.test(text)) longMatchTokens.add(token);
  });
  return new CopyBiasProcessor({ bias: copyBias, minMatch: copyMinMatch, eligibleTokens, longMatchTokens });
}

/** The tokenizer's special tokens: empty when special tokens are skipped, text otherwise. */
function specialTokens(tokenizer: Tokenizer, tokenTexts: readonly string[]): Set<number> {
  const special = new Set<number>();
  tokenTexts.forEach((text, token) => {
    if (text !== '' && tokenizer.decode([token], { skipSpecialTokens: true }) === '') special.add(token);
  });
  return special;
}

/** Each association key's answer words as their first tokens (after a space). */
function associatedTokens(settings: BrickDecoding, tokenizer: Tokenizer): Map<string, number[]> {
  return new Map(
    Object.entries(settings.associations ?? {}).map(([key, words]) => [
      key,
      words.map((word) => tokenizer.encode(` ${word}`, { addSpecialTokens: false })[0]!),
    ]),
  );
}

/** The first token of each name, written after a space and at the start of a line. */
function firstPieces(tokenizer: Tokenizer, names: readonly string[]): Set<number> {
  const pieces = new Set<number>();
  for (const name of names)
    for (const form of [` ${name}`, name]) {
      const first = tokenizer.encode(form, { addSpecialTokens: false })[0];
      if (first !== undefined) pieces.add(first);
    }
  return pieces;
}

function prepare(settings: BrickDecoding, tokenizer: Tokenizer): PreparedRecipe {
  if (tokenizer.kind !== 'dnc')
    throw new Error(
      `the ${copyNamesId} decoding recipe needs a tokenizer dnc trained: it tells names by their spelling in ` +
        'two or more tokens, and a pretrained vocabulary spells most names as one token; export without ' +
        '`--decoding` (or drop the pipeline student\'s "decoding")',
    );
  const tokenTexts = Array.from({ length: tokenizer.vocabSize }, (_, token) => tokenizer.decode([token]));
  const boundaries = specialTokens(tokenizer, tokenTexts);
  const copyBias = copyBiasProcessor(settings, tokenTexts);
  const associations = associatedTokens(settings, tokenizer);
  const tokenCount = (text: string) => tokenizer.encode(text, { addSpecialTokens: false }).length;
  const samples = settings.coverageSamples ?? 0;
  return {
    key: `${copyNamesId}@${copyNamesVersion}`,
    processors() {
      const processors: LogitsProcessor[] = [];
      if (settings.copyConstraint === true)
        processors.push(new CopyConstraintProcessor(tokenTexts, settings.knownTerms));
      if (settings.nameOrder === true)
        processors.push(new NameOrderProcessor(tokenTexts, settings.knownTerms, boundaries));
      if (copyBias !== undefined) processors.push(copyBias);
      if ((settings.promptWordBias ?? 0) > 0)
        processors.push(new PromptWordBiasProcessor(tokenTexts, settings.promptWordBias!, associations));
      return processors;
    },
    reranker:
      samples === 0
        ? undefined
        : {
            samples,
            faults: (question, parsed) => decompositionFaults(parsed, questionNames(question, tokenCount)),
            // Samples lean towards the names the greedy answer left out (their first pieces gain
            // `missingNameBias`): where the model hesitated between two names, the other one is tried.
            resampleProcessors: (question, parsed) => [
              new TokenBiasProcessor(
                firstPieces(tokenizer, missingNames(parsed, questionNames(question, tokenCount))),
                defaults.runtime.missingNameBias,
              ),
            ],
          },
  };
}

export const copyNamesRecipe: DecodingRecipe = {
  id: copyNamesId,
  version: copyNamesVersion,
  description:
    'decomposers of a dnc-trained tokenizer: names and numbers copied from the question in its order, ' +
    'copy and prompt-word biases, and resampling of decompositions that leave a name out',
  defaults: {
    copyConstraint: true,
    nameOrder: true,
    promptWordBias: 2,
    copyBias: 8,
    copyScope: 'word',
    coverageSamples: 8,
  },
  fit: (pairs) => ({ answerTerms: frequentAnswerTerms(pairs), answerAssociations: wordAssociations(pairs) }),
  withFittedData(settings, fitted) {
    const filled: BrickDecoding = { ...settings };
    const usesTerms = filled.copyConstraint === true || filled.nameOrder === true;
    if (usesTerms && filled.knownTerms === undefined && fitted.answerTerms?.length)
      filled.knownTerms = [...fitted.answerTerms];
    const associations = fitted.answerAssociations ?? {};
    if (
      (filled.promptWordBias ?? 0) > 0 &&
      filled.associations === undefined &&
      Object.keys(associations).length > 0
    )
      filled.associations = { ...associations };
    return filled;
  },
  prepare,
};
