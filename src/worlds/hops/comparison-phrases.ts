/**
 * Phrasings of the hops world's two-entity questions: comparisons of a numeric attribute
 * ("Which was founded earlier, X or Y?") and same-value checks ("Do X and Y work for the
 * same company?"). `{X}` and `{Y}` are noun phrases.
 */
import type { Phrase } from '../types.js';
import type { AttributeRelation, EntityKind, LinkRelation } from './relations.js';

export interface ComparePhrase extends Phrase {
  relation: AttributeRelation;
  pick: 'min' | 'max';
  kinds: readonly EntityKind[];
}

export interface SamePhrase extends Phrase {
  relation: LinkRelation;
}

const people: readonly EntityKind[] = ['person'];
const founded: readonly EntityKind[] = ['company', 'city'];
const populated: readonly EntityKind[] = ['city', 'country'];
const companies: readonly EntityKind[] = ['company'];

function compare(
  id: string,
  text: string,
  relation: AttributeRelation,
  pick: 'min' | 'max',
  kinds: readonly EntityKind[],
  ood = false,
): ComparePhrase {
  return { id: `${relation}-${id}`, text, relation, pick, kinds, ...(ood ? { ood } : {}) };
}

export const comparePhrases: readonly ComparePhrase[] = [
  compare('a', 'Who was born first, {X} or {Y}?', 'birth_year', 'min', people),
  compare('b', 'Who is older, {X} or {Y}?', 'birth_year', 'min', people),
  compare('c', 'Who was born earlier, {X} or {Y}?', 'birth_year', 'min', people),
  compare('d', 'Who is younger, {X} or {Y}?', 'birth_year', 'max', people),
  compare('e', 'Who was born later, {X} or {Y}?', 'birth_year', 'max', people),
  compare('o', 'Which of {X} and {Y} is older?', 'birth_year', 'min', people, true),
  compare('p', 'Which of {X} and {Y} is younger?', 'birth_year', 'max', people, true),
  compare('a', 'Which was founded earlier, {X} or {Y}?', 'founding_year', 'min', founded),
  compare('b', 'Which was founded first, {X} or {Y}?', 'founding_year', 'min', founded),
  compare('c', 'Which is older, {X} or {Y}?', 'founding_year', 'min', founded),
  compare('d', 'Which was founded more recently, {X} or {Y}?', 'founding_year', 'max', founded),
  compare('e', 'Which was founded later, {X} or {Y}?', 'founding_year', 'max', founded),
  compare('o', 'Which of {X} and {Y} was established first?', 'founding_year', 'min', founded, true),
  compare('a', 'Which has a larger population, {X} or {Y}?', 'population', 'max', populated),
  compare('b', 'Which is more populous, {X} or {Y}?', 'population', 'max', populated),
  compare('c', 'Which has more inhabitants, {X} or {Y}?', 'population', 'max', populated),
  compare('d', 'Which has a smaller population, {X} or {Y}?', 'population', 'min', populated),
  compare('e', 'Which has fewer inhabitants, {X} or {Y}?', 'population', 'min', populated),
  compare('o', 'Which of {X} and {Y} has more residents?', 'population', 'max', populated, true),
  compare('a', 'Which has more employees, {X} or {Y}?', 'employees', 'max', companies),
  compare('b', 'Which company employs more people, {X} or {Y}?', 'employees', 'max', companies),
  compare('c', 'Which has fewer employees, {X} or {Y}?', 'employees', 'min', companies),
  compare('d', 'Which is the smaller employer, {X} or {Y}?', 'employees', 'min', companies),
  compare('o', 'Which of {X} and {Y} has a larger workforce?', 'employees', 'max', companies, true),
];

function same(id: string, text: string, relation: LinkRelation, ood = false): SamePhrase {
  return { id: `${relation}-${id}`, text, relation, ...(ood ? { ood } : {}) };
}

export const samePhrases: readonly SamePhrase[] = [
  same('a', 'Do {X} and {Y} work for the same company?', 'works_for'),
  same('b', 'Are {X} and {Y} employed by the same company?', 'works_for'),
  same('o', 'Do {X} and {Y} share an employer?', 'works_for', true),
  same('a', 'Were {X} and {Y} born in the same city?', 'born_in'),
  same('b', 'Do {X} and {Y} have the same birthplace?', 'born_in'),
  same('o', 'Do {X} and {Y} share a hometown?', 'born_in', true),
  same('a', 'Are {X} and {Y} headquartered in the same city?', 'headquartered_in'),
  same('o', 'Do {X} and {Y} have their head offices in the same city?', 'headquartered_in', true),
  same('a', 'Are {X} and {Y} located in the same country?', 'located_in'),
  same('b', 'Are {X} and {Y} in the same country?', 'located_in'),
  same('o', 'Do {X} and {Y} lie in the same country?', 'located_in', true),
];
