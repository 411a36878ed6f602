/**
 * Samples the meaning of hops questions (trees) for one split: subject entities come from
 * the split's partition of the knowledge base, so `test` and `ood` ask about fresh entities.
 */
import type { Random } from '../random.js';
import type { SplitName } from '../types.js';
import type { Entity, KnowledgeBase } from './knowledge-base.js';
import type { HopsQuestion, NounPhrase } from './question-tree.js';
import { isEntityKind, linkRelations, relationIds, relations } from './relations.js';
import type { AttributeRelation, EntityKind, LinkRelation, RelationId } from './relations.js';

const attributeRelations = relationIds.filter(
  (id) => !isEntityKind(relations[id].range),
) as AttributeRelation[];
const entityKinds: readonly EntityKind[] = ['person', 'company', 'city', 'country'];

export class QuestionSampler {
  private readonly pools: Record<EntityKind, Entity[]>;

  constructor(
    private readonly random: Random,
    private readonly knowledgeBase: KnowledgeBase,
    split: SplitName,
  ) {
    const pool = (kind: EntityKind) =>
      knowledgeBase.byKind[kind].filter((entity) => entity.partition === split);
    this.pools = {
      person: pool('person'),
      company: pool('company'),
      city: pool('city'),
      country: pool('country'),
    };
  }

  private subject(kinds: readonly EntityKind[]): Entity {
    return this.random.pick(this.pools[this.random.pick(kinds)]);
  }

  private entity(id: string | number | undefined): Entity | undefined {
    return typeof id === 'string' ? this.knowledgeBase.byId.get(id) : undefined;
  }

  /**
   * A noun phrase of `depth` links from a partition entity, ending on one of `kinds`, whose
   * entities along the way are all distinct; undefined when this attempt hit a dead end.
   */
  nounPhrase(
    depth: number,
    kinds: readonly EntityKind[],
  ): { phrase: NounPhrase; target: Entity } | undefined {
    let current = this.subject(depth === 0 ? kinds : entityKinds);
    let phrase: NounPhrase = { type: 'entity', entity: current };
    const seen = new Set([current.id]);
    for (let hop = 0; hop < depth; hop += 1) {
      const last = hop === depth - 1;
      const options = linkRelations.filter((relation) => {
        const spec = relations[relation];
        return spec.domain.includes(current.kind) && (!last || kinds.includes(spec.range as EntityKind));
      });
      if (options.length === 0) return undefined;
      const relation = this.random.pick(options);
      const next = this.entity(current.values[relation]);
      if (!next || seen.has(next.id)) return undefined;
      seen.add(next.id);
      phrase = { type: 'link', relation, inner: phrase };
      current = next;
    }
    return { phrase, target: current };
  }

  /** A question asking for one relation of a noun phrase of `depth` links (hops = depth + 1). */
  ask(depth: number): HopsQuestion | undefined {
    const relation = this.random.pick(relationIds);
    const found = this.nounPhrase(depth, relations[relation].domain);
    if (!found) return undefined;
    const answer = found.target.values[relation];
    if (answer === undefined || (typeof answer === 'string' && this.containsEntity(found.phrase, answer)))
      return undefined;
    return { type: 'ask', relation, subject: found.phrase };
  }

  private containsEntity(phrase: NounPhrase, id: string): boolean {
    return phrase.type === 'entity' ? phrase.entity.id === id : this.containsEntity(phrase.inner, id);
  }

  /** A yes/no question verifying a link or a numeric threshold about a noun phrase. */
  verify(depth: number): HopsQuestion | undefined {
    const relation: RelationId = this.random.pick(relationIds);
    const spec = relations[relation];
    const found = this.nounPhrase(depth, spec.domain);
    const value = found?.target.values[relation];
    if (!found || value === undefined) return undefined;
    if (typeof value === 'string') {
      const truth = this.entity(value);
      if (!truth) return undefined;
      const candidate = this.random.chance(0.5)
        ? truth
        : this.random.pick(this.knowledgeBase.byKind[truth.kind]);
      return { type: 'verify', relation: relation as LinkRelation, subject: found.phrase, candidate };
    }
    const comparison = this.random.chance(0.5) ? 'below' : 'above';
    const threshold = this.threshold(value, spec.range === 'year');
    return {
      type: 'threshold',
      relation: relation as AttributeRelation,
      subject: found.phrase,
      comparison,
      threshold,
    };
  }

  private threshold(value: number, year: boolean): number {
    if (year) {
      const offset = this.random.integer(1, 25) * (this.random.chance(0.5) ? 1 : -1);
      return value + offset;
    }
    const scaled = value * (this.random.integer(50, 150) / 100);
    const magnitude = 10 ** Math.max(0, Math.floor(Math.log10(Math.max(scaled, 1))) - 1);
    const rounded = Math.max(magnitude, Math.round(scaled / magnitude) * magnitude);
    return rounded === value ? rounded + magnitude : rounded;
  }

  /** Which of two noun phrases (of `depth` links) has the smaller or larger attribute. */
  compare(depth: number): HopsQuestion | undefined {
    const relation = this.random.pick(attributeRelations);
    const kind = this.random.pick(relations[relation].domain);
    const left = this.nounPhrase(depth, [kind]);
    const right = this.nounPhrase(depth, [kind]);
    if (!left || !right || left.target.id === right.target.id) return undefined;
    if (
      depth > 0 &&
      phraseRelations(left.phrase) !== phraseRelations(right.phrase) &&
      this.random.chance(0.7)
    )
      return undefined;
    const leftValue = left.target.values[relation];
    const rightValue = right.target.values[relation];
    if (typeof leftValue !== 'number' || typeof rightValue !== 'number' || leftValue === rightValue)
      return undefined;
    const pick = this.random.chance(0.5) ? 'min' : 'max';
    return { type: 'compare', relation, pick, left: left.phrase, right: right.phrase };
  }

  /** Whether two entities share a link (half of the time they do, when such a pair exists). */
  same(): HopsQuestion | undefined {
    const relation = this.random.pick(['works_for', 'born_in', 'headquartered_in', 'located_in'] as const);
    const left = this.subject(relations[relation].domain);
    const value = left.values[relation];
    if (typeof value !== 'string') return undefined;
    let right = this.subject(relations[relation].domain);
    if (this.random.chance(0.5)) {
      const sharing = (this.knowledgeBase.inverse.get(relation)?.get(value) ?? []).filter(
        (entity) => entity.partition === left.partition && entity.id !== left.id,
      );
      if (sharing.length > 0) right = this.random.pick(sharing);
    }
    if (right.id === left.id) return undefined;
    return {
      type: 'same',
      relation,
      left: { type: 'entity', entity: left },
      right: { type: 'entity', entity: right },
    };
  }
}

function phraseRelations(phrase: NounPhrase): string {
  return phrase.type === 'entity' ? '' : `${phrase.relation}<${phraseRelations(phrase.inner)}`;
}

/** The entities a question is about (its subjects: the leaves of its noun phrases). */
export function subjectEntities(question: HopsQuestion): Entity[] {
  const leaves = (phrase: NounPhrase): Entity =>
    phrase.type === 'entity' ? phrase.entity : leaves(phrase.inner);
  if (question.type === 'compare' || question.type === 'same')
    return [leaves(question.left), leaves(question.right)];
  return [leaves(question.subject)];
}
