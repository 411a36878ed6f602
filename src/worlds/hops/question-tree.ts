/**
 * The meaning of a hops question as a tree, and its step-by-step plan: the canonical
 * single-step sub-questions (later ones refer to earlier answers as #k) and, given the
 * knowledge base, their answers. The generator builds a tree and renders it to text; the
 * reference decomposer parses text back to a tree; both plan with the same function.
 */
import { formatNumber } from '../text.js';
import type { Entity, KnowledgeBase } from './knowledge-base.js';
import { relations } from './relations.js';
import type { AttributeRelation, LinkRelation, RelationId } from './relations.js';

export type NounPhrase =
  { type: 'entity'; entity: Entity } | { type: 'link'; relation: LinkRelation; inner: NounPhrase };

export type HopsQuestion =
  | { type: 'ask'; relation: RelationId; subject: NounPhrase }
  | { type: 'verify'; relation: LinkRelation; subject: NounPhrase; candidate: Entity }
  | {
      type: 'threshold';
      relation: AttributeRelation;
      subject: NounPhrase;
      comparison: 'below' | 'above';
      threshold: number;
    }
  | { type: 'compare'; relation: AttributeRelation; pick: 'min' | 'max'; left: NounPhrase; right: NounPhrase }
  | { type: 'same'; relation: LinkRelation; left: NounPhrase; right: NounPhrase };

export interface PlannedStep {
  subquestion: string;
  /** Filled only when planned with a knowledge base (gold). */
  answer?: string;
}

/** The canonical verification phrase for a relation (the first non-ood one of its comparison). */
function verificationText(relation: RelationId, comparison?: 'below' | 'above'): string {
  const phrase = relations[relation].verifications.find(
    (candidate) => !candidate.ood && candidate.comparison === comparison,
  );
  if (!phrase) throw new Error(`relation ${relation} has no verification phrase`);
  return phrase.text;
}

export function compareWord(relation: AttributeRelation, pick: 'min' | 'max'): string {
  const years = relations[relation].range === 'year';
  if (pick === 'min') return years ? 'earlier' : 'smaller';
  return years ? 'later' : 'larger';
}

class Planner {
  readonly steps: PlannedStep[] = [];
  constructor(private readonly knowledgeBase?: KnowledgeBase) {}

  /** Adds one step; returns its `#k` reference and its value (when the KB is known). */
  add(subquestion: string, value?: string | number): { reference: string; value?: string | number } {
    const answer = value === undefined ? undefined : this.display(value);
    this.steps.push(answer === undefined ? { subquestion } : { subquestion, answer });
    return { reference: `#${this.steps.length}`, value };
  }

  display(value: string | number): string {
    if (typeof value === 'number') return formatNumber(value);
    return this.knowledgeBase?.byId.get(value)?.name ?? value;
  }

  fact(entityId: string | number | undefined, relation: RelationId): string | number | undefined {
    if (!this.knowledgeBase || typeof entityId !== 'string') return undefined;
    return this.knowledgeBase.byId.get(entityId)?.values[relation];
  }

  /** The text that stands for a noun phrase in a sub-question (a name or #k), and its entity id. */
  resolve(phrase: NounPhrase): { text: string; id?: string } {
    if (phrase.type === 'entity') return { text: phrase.entity.name, id: phrase.entity.id };
    const inner = this.resolve(phrase.inner);
    const value = this.fact(inner.id, phrase.relation);
    const step = this.add(relations[phrase.relation].canonical.replace('{X}', inner.text), value);
    return { text: step.reference, ...(typeof value === 'string' ? { id: value } : {}) };
  }
}

/** Plans a question: its single-step sub-questions, with answers when `knowledgeBase` is given. */
export function planQuestion(question: HopsQuestion, knowledgeBase?: KnowledgeBase): PlannedStep[] {
  const planner = new Planner(knowledgeBase);
  const yesNo = (value: boolean | undefined) => (value === undefined ? undefined : value ? 'yes' : 'no');
  switch (question.type) {
    case 'ask': {
      const subject = planner.resolve(question.subject);
      planner.add(
        relations[question.relation].canonical.replace('{X}', subject.text),
        planner.fact(subject.id, question.relation),
      );
      break;
    }
    case 'verify': {
      const subject = planner.resolve(question.subject);
      const value = planner.fact(subject.id, question.relation);
      const text = verificationText(question.relation)
        .replace('{X}', subject.text)
        .replace('{Y}', question.candidate.name);
      planner.add(text, yesNo(value === undefined ? undefined : value === question.candidate.id));
      break;
    }
    case 'threshold': {
      const subject = planner.resolve(question.subject);
      const value = planner.fact(subject.id, question.relation);
      const text = verificationText(question.relation, question.comparison)
        .replace('{X}', subject.text)
        .replace('{N}', formatNumber(question.threshold));
      const holds =
        typeof value !== 'number'
          ? undefined
          : question.comparison === 'below'
            ? value < question.threshold
            : value > question.threshold;
      planner.add(text, yesNo(holds));
      break;
    }
    case 'compare': {
      const sides = [question.left, question.right].map((side) => {
        const entity = planner.resolve(side);
        const value = planner.fact(entity.id, question.relation);
        const step = planner.add(relations[question.relation].canonical.replace('{X}', entity.text), value);
        return { entity, value, step };
      });
      const [left, right] = sides as [(typeof sides)[0], (typeof sides)[0]];
      const word = compareWord(question.relation, question.pick);
      let winner: string | undefined;
      if (typeof left.value === 'number' && typeof right.value === 'number') {
        const leftWins = question.pick === 'min' ? left.value < right.value : left.value > right.value;
        winner = (leftWins ? left : right).entity.id;
      }
      planner.add(
        `Which is ${word}, ${left.entity.text} (${left.step.reference}) or ${right.entity.text} (${right.step.reference})?`,
        winner,
      );
      break;
    }
    case 'same': {
      const sides = [question.left, question.right].map((side) => {
        const entity = planner.resolve(side);
        return planner.add(
          relations[question.relation].canonical.replace('{X}', entity.text),
          planner.fact(entity.id, question.relation),
        );
      });
      const [left, right] = sides as [(typeof sides)[0], (typeof sides)[0]];
      const equal =
        left.value === undefined || right.value === undefined ? undefined : left.value === right.value;
      planner.add(`Are ${left.reference} and ${right.reference} the same?`, yesNo(equal));
      break;
    }
  }
  return planner.steps;
}

/** The depth of a noun phrase: 0 for a plain name, 1 for "the founder of X", ... */
export function phraseDepth(phrase: NounPhrase): number {
  return phrase.type === 'entity' ? 0 : 1 + phraseDepth(phrase.inner);
}
