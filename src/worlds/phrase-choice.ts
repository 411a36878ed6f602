/**
 * How a split chooses surface phrasings: `train` and `test` only use the ordinary phrases;
 * `ood` prefers the held-out (`ood`) phrases, so its wording is measurably new.
 */
import type { Random } from './random.js';
import type { Phrase, SplitName } from './types.js';

export function choosePhrase<T extends Phrase>(random: Random, phrases: readonly T[], split: SplitName): T {
  const ordinary = phrases.filter((phrase) => !phrase.ood);
  const heldOut = phrases.filter((phrase) => phrase.ood);
  if (split === 'ood' && heldOut.length > 0 && random.chance(0.6)) return random.pick(heldOut);
  return random.pick(ordinary.length > 0 ? ordinary : phrases);
}
