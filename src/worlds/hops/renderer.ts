/** Turns a HopsQuestion tree into text, choosing phrasings for the split. */
import { choosePhrase } from '../phrase-choice.js';
import type { Random } from '../random.js';
import { fillPhrase, formatWithCommas } from '../text.js';
import type { SplitName } from '../types.js';
import { comparePhrases, samePhrases } from './comparison-phrases.js';
import type { HopsQuestion, NounPhrase } from './question-tree.js';
import { relations } from './relations.js';

export interface Rendered {
  text: string;
  /** The ids of the phrases used, outermost first. */
  phraseIds: string[];
  /** True when a held-out (ood) phrase was used. */
  heldOut: boolean;
}

export class HopsRenderer {
  private phraseIds: string[] = [];
  private heldOut = false;

  constructor(
    private readonly random: Random,
    private readonly split: SplitName,
  ) {}

  private use<T extends { id: string; ood?: boolean }>(prefix: string, phrase: T): T {
    this.phraseIds.push(`${prefix}:${phrase.id}`);
    if (phrase.ood) this.heldOut = true;
    return phrase;
  }

  nounPhrase(phrase: NounPhrase): string {
    if (phrase.type === 'entity') return phrase.entity.name;
    const candidates = relations[phrase.relation].nouns.filter(
      (noun) => !noun.entityOnly || phrase.inner.type === 'entity',
    );
    const noun = this.use(phrase.relation, choosePhrase(this.random, candidates, this.split));
    return fillPhrase(noun.text, { X: this.nounPhrase(phrase.inner) });
  }

  render(question: HopsQuestion): Rendered {
    this.phraseIds = [];
    this.heldOut = false;
    const text = this.text(question);
    return { text, phraseIds: this.phraseIds, heldOut: this.heldOut };
  }

  private text(question: HopsQuestion): string {
    const pick = choosePhrase.bind(null, this.random);
    switch (question.type) {
      case 'ask': {
        const phrase = this.use(
          `ask-${question.relation}`,
          pick(relations[question.relation].questions, this.split),
        );
        return fillPhrase(phrase.text, { X: this.nounPhrase(question.subject) });
      }
      case 'verify': {
        const phrase = this.use(
          `verify-${question.relation}`,
          pick(relations[question.relation].verifications, this.split),
        );
        return fillPhrase(phrase.text, { X: this.nounPhrase(question.subject), Y: question.candidate.name });
      }
      case 'threshold': {
        const options = relations[question.relation].verifications.filter(
          (item) => item.comparison === question.comparison,
        );
        const phrase = this.use(`threshold-${question.relation}`, pick(options, this.split));
        return fillPhrase(phrase.text, {
          X: this.nounPhrase(question.subject),
          N: formatWithCommas(question.threshold),
        });
      }
      case 'compare': {
        const options = comparePhrases.filter(
          (item) => item.relation === question.relation && item.pick === question.pick,
        );
        const phrase = this.use('compare', pick(options, this.split));
        return fillPhrase(phrase.text, {
          X: this.nounPhrase(question.left),
          Y: this.nounPhrase(question.right),
        });
      }
      case 'same': {
        const options = samePhrases.filter((item) => item.relation === question.relation);
        const phrase = this.use('same', pick(options, this.split));
        return fillPhrase(phrase.text, {
          X: this.nounPhrase(question.left),
          Y: this.nounPhrase(question.right),
        });
      }
    }
  }
}
