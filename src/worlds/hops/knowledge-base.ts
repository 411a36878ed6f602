/**
 * The hops world's fixed knowledge: fictional countries, cities, companies and people with
 * their links and numbers, generated from a constant seed. The reference expert knows it
 * without reading any example; question seeds only choose which entities are asked about.
 */
import { createHash } from 'node:crypto';
import { Random } from '../random.js';
import type { SplitName } from '../types.js';
import { NameMaker } from '../names.js';
import type { EntityKind, RelationId } from './relations.js';

/** The seed of the one knowledge base every hops question is about. */
export const HOPS_WORLD_SEED = 20_240_611;

export const knowledgeBaseSize = {
  countries: 40,
  citiesPerCountry: 12,
  companies: 1600,
  people: 5200,
} as const;

export interface Entity {
  id: string;
  kind: EntityKind;
  name: string;
  /** Which split may ask questions about this entity (a hash of its id decides). */
  partition: SplitName;
  /** Links hold entity ids, attributes hold numbers. */
  values: Partial<Record<RelationId, string | number>>;
}

export interface KnowledgeBase {
  entities: readonly Entity[];
  byId: ReadonlyMap<string, Entity>;
  /** Lower-case name → entity. */
  byName: ReadonlyMap<string, Entity>;
  byKind: Readonly<Record<EntityKind, readonly Entity[]>>;
  /** For each link relation, target id → the entities linking to it. */
  inverse: ReadonlyMap<RelationId, ReadonlyMap<string, readonly Entity[]>>;
}

/** 70% train, 15% test, 15% ood, by a hash of the entity id (stable whatever the order). */
export function partitionOf(id: string): SplitName {
  const bucket = createHash('sha256').update(id).digest().readUInt32BE(0) % 100;
  return bucket < 70 ? 'train' : bucket < 85 ? 'test' : 'ood';
}

function createEntity(kind: EntityKind, index: number, name: string): Entity {
  const id = `${kind}:${index}`;
  return { id, kind, name, partition: partitionOf(id), values: {} };
}

function buildPlaces(random: Random, names: NameMaker): { countries: Entity[]; cities: Entity[] } {
  const countries: Entity[] = [];
  const cities: Entity[] = [];
  for (let index = 0; index < knowledgeBaseSize.countries; index += 1) {
    const country = createEntity('country', index, names.make('country'));
    country.values.population = random.integer(400, 90_000) * 1000 + random.integer(0, 999);
    countries.push(country);
    for (let local = 0; local < knowledgeBaseSize.citiesPerCountry; local += 1) {
      const city = createEntity('city', cities.length, names.make('city'));
      city.values.located_in = country.id;
      city.values.population = random.integer(3_000, 3_000_000);
      city.values.founding_year = random.integer(700, 1950);
      if (local === 0) country.values.capital = city.id;
      cities.push(city);
    }
  }
  return { countries, cities };
}

function buildEconomy(
  random: Random,
  names: NameMaker,
  cities: Entity[],
): { companies: Entity[]; people: Entity[] } {
  const companies: Entity[] = [];
  const people: Entity[] = [];
  const newPerson = (): Entity => {
    const person = createEntity('person', people.length, names.make('person'));
    person.values.born_in = random.pick(cities).id;
    person.values.birth_year = random.integer(1930, 2004);
    people.push(person);
    return person;
  };
  for (let index = 0; index < knowledgeBaseSize.companies; index += 1) {
    const company = createEntity('company', index, names.make('company'));
    company.values.headquartered_in = random.pick(cities).id;
    company.values.founding_year = random.integer(1850, 2022);
    company.values.employees = random.chance(0.5)
      ? random.integer(12, 5_000)
      : random.integer(5_001, 250_000);
    const founder = newPerson();
    const ceo = newPerson();
    ceo.values.works_for = company.id;
    company.values.founded_by = founder.id;
    company.values.ceo = ceo.id;
    companies.push(company);
  }
  while (people.length < knowledgeBaseSize.people) newPerson();
  for (const person of people) person.values.works_for ??= random.pick(companies).id;
  return { companies, people };
}

function index(entities: Entity[]): KnowledgeBase {
  const byId = new Map(entities.map((entity) => [entity.id, entity]));
  const byName = new Map(entities.map((entity) => [entity.name.toLowerCase(), entity]));
  const byKind: Record<EntityKind, Entity[]> = { person: [], company: [], city: [], country: [] };
  const inverse = new Map<RelationId, Map<string, Entity[]>>();
  for (const entity of entities) {
    byKind[entity.kind].push(entity);
    for (const [relation, value] of Object.entries(entity.values) as [RelationId, string | number][]) {
      if (typeof value !== 'string') continue;
      let targets = inverse.get(relation);
      if (!targets) inverse.set(relation, (targets = new Map()));
      const sources = targets.get(value);
      if (sources) sources.push(entity);
      else targets.set(value, [entity]);
    }
  }
  return { entities, byId, byName, byKind, inverse };
}

let cached: KnowledgeBase | undefined;

/** The knowledge base (built once per process from HOPS_WORLD_SEED; about 7,000 entities). */
export function getKnowledgeBase(): KnowledgeBase {
  if (cached) return cached;
  const random = new Random(HOPS_WORLD_SEED);
  const names = new NameMaker(random);
  const { countries, cities } = buildPlaces(random, names);
  const { companies, people } = buildEconomy(random, names, cities);
  cached = index([...countries, ...cities, ...companies, ...people]);
  return cached;
}

/** The value of one fact, or undefined when the entity has no such relation. */
export function lookup(entity: Entity, relation: RelationId): string | number | undefined {
  return entity.values[relation];
}
