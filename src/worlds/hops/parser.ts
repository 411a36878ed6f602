/**
 * Reads a hops question back into its meaning (a HopsQuestion tree) from the text alone:
 * every phrasing of the world is compiled to a pattern matched in linear time
 * (phrase-matcher.ts), slots are parsed recursively as noun phrases, and the knowledge base's
 * names (the expert's knowledge) ground the leaves. A parse is accepted only when the kinds fit
 * (a city has no founder).
 */
import { compilePhraseMatcher, type PhraseMatcher, type WorkMeter } from '../phrase-matcher.js';
import { parseNumber, tidySentence } from '../text.js';
import type { SlotKind } from '../text.js';
import { comparePhrases, samePhrases } from './comparison-phrases.js';
import type { Entity, KnowledgeBase } from './knowledge-base.js';
import type { HopsQuestion, NounPhrase } from './question-tree.js';
import { isEntityKind, linkRelations, relationIds, relations } from './relations.js';
import type { EntityKind, LinkRelation, RelationId } from './relations.js';

interface Compiled<T> {
  matcher: PhraseMatcher;
  value: T;
}

function compileAll<T extends { text: string }>(
  items: readonly T[],
  slotKinds: Record<string, SlotKind> = {},
): Compiled<T>[] {
  return items.map((value) => ({ matcher: compilePhraseMatcher(value.text, slotKinds), value }));
}

const nounPatterns = linkRelations.flatMap((relation) =>
  compileAll(relations[relation].nouns).map((compiled) => ({ ...compiled, relation })),
);
const questionPatterns = relationIds.flatMap((relation) =>
  compileAll(relations[relation].questions).map((compiled) => ({ ...compiled, relation })),
);
const verificationPatterns = relationIds.flatMap((relation) =>
  compileAll(relations[relation].verifications, { N: 'number' }).map((compiled) => ({
    ...compiled,
    relation,
  })),
);
const comparePatterns = compileAll(comparePhrases);
const samePatterns = compileAll(samePhrases);

export class HopsParser {
  /**
   * The matching work done so far (phrase-matcher.ts): linear in the text for every phrase, so
   * a long question costs proportionally, never quadratically (tests check its growth).
   */
  readonly work: WorkMeter = { steps: 0 };

  constructor(private readonly knowledgeBase: KnowledgeBase) {}

  private tidy(text: string): string {
    this.work.steps += text.length;
    return tidySentence(text);
  }

  entity(text: string, kinds: readonly EntityKind[]): Entity | undefined {
    const entity = this.knowledgeBase.byName.get(this.tidy(text).toLowerCase());
    return entity && kinds.includes(entity.kind) ? entity : undefined;
  }

  /** Parses a noun phrase whose referent must be one of `kinds`; undefined when it cannot. */
  nounPhrase(text: string, kinds: readonly EntityKind[], depth = 0): NounPhrase | undefined {
    const entity = this.entity(text, kinds);
    if (entity) return { type: 'entity', entity };
    if (depth > 8) return undefined;
    const trimmed = this.tidy(text);
    for (const pattern of nounPatterns) {
      const range = relations[pattern.relation].range;
      if (!isEntityKind(range) || !kinds.includes(range)) continue;
      const inner = pattern.matcher.exec(trimmed, this.work)?.X;
      if (inner === undefined) continue;
      const domain = relations[pattern.relation].domain;
      const innerPhrase =
        'entityOnly' in pattern.value && pattern.value.entityOnly
          ? this.entityPhrase(inner, domain)
          : this.nounPhrase(inner, domain, depth + 1);
      if (innerPhrase) return { type: 'link', relation: pattern.relation, inner: innerPhrase };
    }
    return undefined;
  }

  private entityPhrase(text: string, kinds: readonly EntityKind[]): NounPhrase | undefined {
    const entity = this.entity(text, kinds);
    return entity ? { type: 'entity', entity } : undefined;
  }

  /** Parses a whole question; undefined when it is not a question of the hops world. */
  question(text: string): HopsQuestion | undefined {
    const sentence = this.tidy(text);
    return (
      this.ask(sentence) ?? this.verification(sentence) ?? this.comparison(sentence) ?? this.same(sentence)
    );
  }

  private ask(sentence: string): HopsQuestion | undefined {
    for (const pattern of questionPatterns) {
      const subjectText = pattern.matcher.exec(sentence, this.work)?.X;
      if (subjectText === undefined) continue;
      const subject = this.nounPhrase(subjectText, relations[pattern.relation].domain);
      if (subject) return { type: 'ask', relation: pattern.relation, subject };
    }
    return undefined;
  }

  private verification(sentence: string): HopsQuestion | undefined {
    for (const pattern of verificationPatterns) {
      const groups = pattern.matcher.exec(sentence, this.work);
      if (!groups?.X) continue;
      const spec = relations[pattern.relation];
      const subject = this.nounPhrase(groups.X, spec.domain);
      if (!subject) continue;
      if (isEntityKind(spec.range) && groups.Y !== undefined) {
        const candidate = this.entity(groups.Y, [spec.range]);
        if (candidate)
          return { type: 'verify', relation: pattern.relation as LinkRelation, subject, candidate };
      }
      const threshold = groups.N === undefined ? undefined : parseNumber(groups.N);
      const comparison = 'comparison' in pattern.value ? pattern.value.comparison : undefined;
      if (threshold !== undefined && comparison && !isEntityKind(spec.range)) {
        return {
          type: 'threshold',
          relation: pattern.relation as Exclude<RelationId, LinkRelation>,
          subject,
          comparison,
          threshold,
        };
      }
    }
    return undefined;
  }

  private comparison(sentence: string): HopsQuestion | undefined {
    for (const pattern of comparePatterns) {
      const groups = pattern.matcher.exec(sentence, this.work);
      if (!groups?.X || !groups.Y) continue;
      const left = this.nounPhrase(groups.X, pattern.value.kinds);
      const right = left && this.nounPhrase(groups.Y, pattern.value.kinds);
      if (left && right)
        return { type: 'compare', relation: pattern.value.relation, pick: pattern.value.pick, left, right };
    }
    return undefined;
  }

  private same(sentence: string): HopsQuestion | undefined {
    for (const pattern of samePatterns) {
      const groups = pattern.matcher.exec(sentence, this.work);
      if (!groups?.X || !groups.Y) continue;
      const domain = relations[pattern.value.relation].domain;
      const left = this.nounPhrase(groups.X, domain);
      const right = left && this.nounPhrase(groups.Y, domain);
      if (left && right) return { type: 'same', relation: pattern.value.relation, left, right };
    }
    return undefined;
  }
}
