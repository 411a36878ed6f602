/**
 * The hops world's relations and the words for them. Each relation has one canonical
 * sub-question (the regular language the reference decomposer writes and a student can
 * learn), several question phrasings, noun phrases (for nesting: "the founder of X") and
 * yes/no verification phrasings. Phrases marked `ood` appear only in the `ood` split.
 */
import type { Phrase } from '../types.js';

export type EntityKind = 'person' | 'company' | 'city' | 'country';
export type LinkRelation =
  'born_in' | 'works_for' | 'founded_by' | 'ceo' | 'headquartered_in' | 'located_in' | 'capital';
export type AttributeRelation = 'birth_year' | 'founding_year' | 'employees' | 'population';
export type RelationId = LinkRelation | AttributeRelation;

export interface RelationSpec {
  id: RelationId;
  domain: readonly EntityKind[];
  /** An entity kind for links, 'year' or 'count' for attributes. */
  range: EntityKind | 'year' | 'count';
  /** The canonical single-step sub-question, `{X}` the subject. */
  canonical: string;
  questions: readonly Phrase[];
  /** Noun phrases for a linked entity (links only); `entityOnly` ones need a plain name inside. */
  nouns: readonly (Phrase & { entityOnly?: boolean })[];
  /** Yes/no: `{X}` subject, `{Y}` candidate entity (links) or `{N}` threshold (attributes). */
  verifications: readonly (Phrase & { comparison?: 'below' | 'above' })[];
}

const p = (id: string, text: string, ood = false): Phrase => (ood ? { id, text, ood } : { id, text });

export const relations: Record<RelationId, RelationSpec> = {
  born_in: {
    id: 'born_in',
    domain: ['person'],
    range: 'city',
    canonical: 'Where was {X} born?',
    questions: [
      p('a', 'Where was {X} born?'),
      p('b', 'In which city was {X} born?'),
      p('c', 'What is the birthplace of {X}?'),
      p('d', 'Which city was {X} born in?'),
      p('o', 'What city is {X} originally from?', true),
    ],
    nouns: [
      p('a', 'the birthplace of {X}'),
      p('b', 'the city where {X} was born'),
      { ...p('c', "{X}'s birthplace"), entityOnly: true },
      p('o', 'the hometown of {X}', true),
    ],
    verifications: [
      p('a', 'Was {X} born in {Y}?'),
      p('b', 'Is {Y} the birthplace of {X}?'),
      p('o', 'Is {X} originally from {Y}?', true),
    ],
  },
  works_for: {
    id: 'works_for',
    domain: ['person'],
    range: 'company',
    canonical: 'Which company does {X} work for?',
    questions: [
      p('a', 'Which company does {X} work for?'),
      p('b', 'Who does {X} work for?'),
      p('c', 'Who employs {X}?'),
      p('d', 'What company employs {X}?'),
      p('o', 'At which company is {X} employed?', true),
    ],
    nouns: [
      p('a', 'the company that {X} works for'),
      p('b', 'the employer of {X}'),
      { ...p('c', "{X}'s employer"), entityOnly: true },
      p('o', 'the company employing {X}', true),
    ],
    verifications: [
      p('a', 'Does {X} work for {Y}?'),
      p('b', 'Is {X} employed by {Y}?'),
      p('o', 'Is {Y} the employer of {X}?', true),
    ],
  },
  founded_by: {
    id: 'founded_by',
    domain: ['company'],
    range: 'person',
    canonical: 'Who founded {X}?',
    questions: [
      p('a', 'Who founded {X}?'),
      p('b', 'Who is the founder of {X}?'),
      p('c', 'Who was {X} founded by?'),
      p('o', 'Which person started {X}?', true),
    ],
    nouns: [
      p('a', 'the founder of {X}'),
      p('b', 'the person who founded {X}'),
      { ...p('c', "{X}'s founder"), entityOnly: true },
      p('o', 'the person who started {X}', true),
    ],
    verifications: [
      p('a', 'Was {X} founded by {Y}?'),
      p('b', 'Is {Y} the founder of {X}?'),
      p('o', 'Did {Y} start {X}?', true),
    ],
  },
  ceo: {
    id: 'ceo',
    domain: ['company'],
    range: 'person',
    canonical: 'Who is the CEO of {X}?',
    questions: [
      p('a', 'Who is the CEO of {X}?'),
      p('b', 'Who runs {X}?'),
      p('c', 'Who is the chief executive of {X}?'),
      p('o', 'Who leads {X} as its CEO?', true),
    ],
    nouns: [
      p('a', 'the CEO of {X}'),
      p('b', 'the chief executive of {X}'),
      { ...p('c', "{X}'s CEO"), entityOnly: true },
      p('o', 'the person who runs {X}', true),
    ],
    verifications: [
      p('a', 'Is {Y} the CEO of {X}?'),
      p('b', 'Does {Y} run {X}?'),
      p('o', 'Is {X} run by {Y}?', true),
    ],
  },
  headquartered_in: {
    id: 'headquartered_in',
    domain: ['company'],
    range: 'city',
    canonical: 'Where is {X} headquartered?',
    questions: [
      p('a', 'Where is {X} headquartered?'),
      p('b', 'In which city is {X} headquartered?'),
      p('c', 'Where are the headquarters of {X}?'),
      p('d', 'Which city hosts the headquarters of {X}?'),
      p('o', 'In what city does {X} have its head office?', true),
    ],
    nouns: [
      p('a', 'the city where {X} is headquartered'),
      p('b', 'the headquarters city of {X}'),
      { ...p('c', "{X}'s home city"), entityOnly: true },
      p('o', 'the city that hosts the head office of {X}', true),
    ],
    verifications: [
      p('a', 'Is {X} headquartered in {Y}?'),
      p('b', 'Are the headquarters of {X} in {Y}?'),
      p('o', 'Does {X} have its head office in {Y}?', true),
    ],
  },
  located_in: {
    id: 'located_in',
    domain: ['city'],
    range: 'country',
    canonical: 'In which country is {X} located?',
    questions: [
      p('a', 'In which country is {X} located?'),
      p('b', 'Which country is {X} in?'),
      p('c', 'In what country is {X}?'),
      p('o', 'In which nation does {X} lie?', true),
    ],
    nouns: [
      p('a', 'the country where {X} is located'),
      p('b', 'the country that contains {X}'),
      p('d', 'the country of {X}'),
      p('o', 'the nation in which {X} lies', true),
    ],
    verifications: [
      p('a', 'Is {X} located in {Y}?'),
      p('b', 'Is {X} in {Y}?'),
      p('o', 'Does {Y} contain {X}?', true),
    ],
  },
  capital: {
    id: 'capital',
    domain: ['country'],
    range: 'city',
    canonical: 'What is the capital of {X}?',
    questions: [
      p('a', 'What is the capital of {X}?'),
      p('b', 'Which city is the capital of {X}?'),
      p('c', 'What city serves as the capital of {X}?'),
      p('o', "Which city is {X}'s seat of government?", true),
    ],
    nouns: [
      p('a', 'the capital of {X}'),
      p('b', 'the capital city of {X}'),
      { ...p('c', "{X}'s capital"), entityOnly: true },
      p('o', 'the seat of government of {X}', true),
    ],
    verifications: [
      p('a', 'Is {Y} the capital of {X}?'),
      p('b', 'Is the capital city of {X} called {Y}?'),
      p('o', 'Does {X} have {Y} as its capital?', true),
    ],
  },
  birth_year: {
    id: 'birth_year',
    domain: ['person'],
    range: 'year',
    canonical: 'In what year was {X} born?',
    questions: [
      p('a', 'In what year was {X} born?'),
      p('b', 'When was {X} born?'),
      p('c', 'What is the birth year of {X}?'),
      p('o', 'In which year did {X} come into the world?', true),
    ],
    nouns: [],
    verifications: [
      { ...p('a', 'Was {X} born before {N}?'), comparison: 'below' },
      { ...p('b', 'Was {X} born after {N}?'), comparison: 'above' },
      { ...p('o', 'Was {X} born earlier than {N}?', true), comparison: 'below' },
    ],
  },
  founding_year: {
    id: 'founding_year',
    domain: ['company', 'city'],
    range: 'year',
    canonical: 'In what year was {X} founded?',
    questions: [
      p('a', 'In what year was {X} founded?'),
      p('b', 'When was {X} founded?'),
      p('c', 'What is the founding year of {X}?'),
      p('o', 'In which year was {X} established?', true),
    ],
    nouns: [],
    verifications: [
      { ...p('a', 'Was {X} founded before {N}?'), comparison: 'below' },
      { ...p('b', 'Was {X} founded after {N}?'), comparison: 'above' },
      { ...p('o', 'Was {X} established earlier than {N}?', true), comparison: 'below' },
    ],
  },
  employees: {
    id: 'employees',
    domain: ['company'],
    range: 'count',
    canonical: 'How many employees does {X} have?',
    questions: [
      p('a', 'How many employees does {X} have?'),
      p('b', 'How many people work at {X}?'),
      p('c', 'What is the number of employees of {X}?'),
      p('o', 'How many staff does {X} employ?', true),
    ],
    nouns: [],
    verifications: [
      { ...p('a', 'Does {X} have more than {N} employees?'), comparison: 'above' },
      { ...p('b', 'Does {X} have fewer than {N} employees?'), comparison: 'below' },
      { ...p('o', 'Does {X} employ more than {N} people?', true), comparison: 'above' },
    ],
  },
  population: {
    id: 'population',
    domain: ['city', 'country'],
    range: 'count',
    canonical: 'What is the population of {X}?',
    questions: [
      p('a', 'What is the population of {X}?'),
      p('b', 'How many people live in {X}?'),
      p('c', 'How many inhabitants does {X} have?'),
      p('o', 'What is the number of residents of {X}?', true),
    ],
    nouns: [],
    verifications: [
      { ...p('a', 'Does {X} have more than {N} inhabitants?'), comparison: 'above' },
      { ...p('b', 'Does {X} have fewer than {N} inhabitants?'), comparison: 'below' },
      { ...p('o', 'Do more than {N} people live in {X}?', true), comparison: 'above' },
    ],
  },
};

export const relationIds = Object.keys(relations) as RelationId[];
export const linkRelations = relationIds.filter((id) => isEntityKind(relations[id].range)) as LinkRelation[];

export function isEntityKind(value: string): value is EntityKind {
  return value === 'person' || value === 'company' || value === 'city' || value === 'country';
}
