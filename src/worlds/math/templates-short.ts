/** Math templates of one and two steps (in every split). */
import { phrase, step } from './template-types.js';
import type { MathTemplate, SampleContext, SlotValues } from './template-types.js';
import { bakedGoods, countables, plants, products } from './vocabulary.js';
import type { Noun } from './vocabulary.js';

const nounSlots = (noun: Noun): SlotValues => ({ item: noun.singular, items: noun.plural });

export const addMore: MathTemplate = {
  id: 'add-more',
  slots: { A: 'name', items: 'words', a: 'number', b: 'number' },
  phrasings: [
    phrase('a', '{A} has {a} {items}. {A} buys {b} more {items}. How many {items} does {A} have now?'),
    phrase('b', '{A} had {a} {items} and then got {b} more. How many {items} does {A} have now?'),
    phrase(
      'c',
      '{A} owns {a} {items}. A friend gives {A} another {b} {items}. How many {items} does {A} have now?',
    ),
    phrase(
      'o',
      'After getting {b} new {items}, {A} counts the {a} {items} from before together with them. How many {items} does {A} have now?',
      true,
    ),
  ],
  steps: [
    step(
      'total',
      'add',
      ['a', 'b'],
      ['How many {items} does {A} have now?', 'How many {items} does {A} have?'],
    ),
  ],
  sample: ({ random, names }: SampleContext) => ({
    A: names(1)[0] as string,
    ...nounSlots(random.pick(countables)),
    a: random.integer(3, 80),
    b: random.integer(2, 60),
  }),
};

export const shareEqually: MathTemplate = {
  id: 'share-equally',
  slots: { A: 'name', items: 'words', a: 'number', k: 'number' },
  phrasings: [
    phrase(
      'a',
      '{A} has {a} {items} and shares them equally among {k} friends. How many {items} does each friend get?',
    ),
    phrase(
      'b',
      '{A} wants to give {a} {items} to {k} friends so that each friend gets the same number. How many {items} does each friend get?',
    ),
    phrase(
      'o',
      'There are {k} friends and {A} splits {a} {items} fairly between them. How many {items} does each friend get?',
      true,
    ),
  ],
  steps: [step('each', 'divide', ['a', 'k'], ['How many {items} does each friend get?'])],
  sample: ({ random, names }) => {
    const k = random.integer(2, 9);
    return {
      A: names(1)[0] as string,
      ...nounSlots(random.pick(countables)),
      k,
      a: k * random.integer(2, 15),
    };
  },
};

export const unitCost: MathTemplate = {
  id: 'unit-cost',
  slots: { A: 'name', items: 'words', item: 'words', n: 'number', p: 'number' },
  moneySlots: ['p'],
  phrasings: [
    phrase('a', '{A} buys {n} {items} at ${p} each. How much does {A} spend?'),
    phrase('b', 'Each {item} costs ${p}. {A} buys {n} {items}. How much does {A} spend?'),
    phrase(
      'o',
      '{A} picks up {n} {items}, and the price tag says ${p} per {item}. How much does {A} spend?',
      true,
    ),
  ],
  steps: [
    step(
      'cost',
      'multiply',
      ['n', 'p'],
      ['How much does {A} spend?', 'How much do the {items} cost?', 'How much does {A} pay?'],
    ),
  ],
  sample: ({ random, names }) => ({
    A: names(1)[0] as string,
    ...nounSlots(random.pick(bakedGoods)),
    n: random.integer(2, 24),
    p: random.integer(2, 24) / 2,
  }),
};

export const moreTotal: MathTemplate = {
  id: 'more-total',
  slots: { A: 'name', B: 'name', items: 'words', a: 'number', d: 'number' },
  phrasings: [
    phrase(
      'a',
      '{A} has {a} {items}. {B} has {d} more {items} than {A}. How many {items} do {A} and {B} have together?',
    ),
    phrase(
      'b',
      '{B} has {d} more {items} than {A}, who has {a}. How many {items} do {A} and {B} have together?',
    ),
    phrase(
      'c',
      '{A} has {a} {items}, and {B} has {d} more than that. How many {items} do {A} and {B} have together?',
    ),
    phrase(
      'o',
      'If {A} has {a} {items} and {B} has {d} {items} more than {A}, what is the number of {items} that {A} and {B} have together?',
      true,
    ),
  ],
  steps: [
    step('second', 'add', ['a', 'd'], ['How many {items} does {B} have?']),
    step(
      'total',
      'add',
      ['a', 'second'],
      [
        'How many {items} do {A} and {B} have together?',
        'How many {items} do they have together?',
        'How many {items} do {A} and {B} have in total?',
      ],
    ),
  ],
  sample: ({ random, names }) => {
    const [A, B] = names(2) as [string, string];
    return {
      A,
      B,
      ...nounSlots(random.pick(countables)),
      a: random.integer(4, 90),
      d: random.integer(2, 40),
    };
  },
};

export const timesDifference: MathTemplate = {
  id: 'times-difference',
  slots: { A: 'name', B: 'name', items: 'words', a: 'number', k: 'number' },
  phrasings: [
    phrase(
      'a',
      '{A} has {a} {items}. {B} has {k} times as many {items} as {A}. How many more {items} does {B} have than {A}?',
    ),
    phrase(
      'b',
      '{B} has {k} times as many {items} as {A}. {A} has {a} {items}. How many more {items} does {B} have than {A}?',
    ),
    phrase(
      'o',
      'The number of {items} {B} has is {k} times the {a} {items} that {A} has. How many more {items} does {B} have than {A}?',
      true,
    ),
  ],
  steps: [
    step('second', 'multiply', ['a', 'k'], ['How many {items} does {B} have?']),
    step('difference', 'subtract', ['second', 'a'], ['How many more {items} does {B} have than {A}?']),
  ],
  sample: ({ random, names }) => {
    const [A, B] = names(2) as [string, string];
    return { A, B, ...nounSlots(random.pick(countables)), a: random.integer(3, 40), k: random.integer(2, 6) };
  },
};

export const percentLeft: MathTemplate = {
  id: 'percent-left',
  slots: { A: 'name', B: 'name', items: 'words', a: 'number', pct: 'number' },
  phrasings: [
    phrase('a', '{A} has {a} {items}. {A} gives {pct}% of them to {B}. How many {items} does {A} have left?'),
    phrase(
      'b',
      '{A} starts with {a} {items} and gives {pct}% of them to {B}. How many {items} does {A} have left?',
    ),
    phrase(
      'o',
      'Of the {a} {items} that {A} owns, {pct}% go to {B} as a gift. How many {items} does {A} have left?',
      true,
    ),
  ],
  steps: [
    step(
      'given',
      'percent-of',
      ['a', 'pct'],
      ['How many {items} does {A} give to {B}?', 'How many {items} does {A} give away?'],
    ),
    step('left', 'subtract', ['a', 'given'], ['How many {items} does {A} have left?']),
  ],
  sample: ({ random, names }) => {
    const [A, B] = names(2) as [string, string];
    const pct = random.pick([10, 20, 25, 30, 40, 50, 60, 75]);
    return { A, B, ...nounSlots(random.pick(countables)), pct, a: 20 * random.integer(1, 12) };
  },
};

export const rateDays: MathTemplate = {
  id: 'rate-days',
  slots: { items: 'words', r: 'number', h: 'number', d: 'number' },
  phrasings: [
    phrase(
      'a',
      'A machine makes {r} {items} per hour. It runs {h} hours a day. How many {items} does the machine make in {d} days?',
    ),
    phrase(
      'b',
      'Every hour, a machine makes {r} {items}. The machine works {h} hours each day. How many {items} does the machine make in {d} days?',
    ),
    phrase(
      'o',
      'Running {h} hours daily at a pace of {r} {items} an hour, how many {items} does the machine make in {d} days?',
      true,
    ),
  ],
  steps: [
    step(
      'daily',
      'multiply',
      ['r', 'h'],
      [
        'How many {items} does the machine make in one day?',
        'How many {items} does the machine make per day?',
        'How many {items} does the machine make each day?',
      ],
    ),
    step('total', 'multiply', ['daily', 'd'], ['How many {items} does the machine make in {d} days?']),
  ],
  sample: ({ random }) => ({
    ...nounSlots(random.pick(products)),
    r: random.integer(3, 60),
    h: random.integer(2, 12),
    d: random.integer(2, 7),
  }),
};

export const savingsWeeks: MathTemplate = {
  id: 'savings-weeks',
  slots: { A: 'name', w: 'number', s: 'number', g: 'number' },
  moneySlots: ['w', 's', 'g'],
  phrasings: [
    phrase(
      'a',
      '{A} earns ${w} a week and spends ${s} a week. How many weeks will it take {A} to save ${g}?',
    ),
    phrase('b', 'Each week {A} earns ${w} and spends ${s}. How many weeks will it take {A} to save ${g}?'),
    phrase(
      'o',
      '{A} wants ${g} for a bike; a weekly job pays ${w}, of which ${s} gets spent. How many weeks will it take {A} to save ${g}?',
      true,
    ),
  ],
  steps: [
    step(
      'saved',
      'subtract',
      ['w', 's'],
      ['How much does {A} save each week?', 'How much does {A} save per week?'],
    ),
    step('weeks', 'divide', ['g', 'saved'], ['How many weeks will it take {A} to save ${g}?']),
  ],
  sample: ({ random, names }) => {
    const saved = random.integer(3, 40);
    const s = random.integer(2, 50);
    return { A: names(1)[0] as string, w: saved + s, s, g: saved * random.integer(2, 20) };
  },
};

export const recipeScale: MathTemplate = {
  id: 'recipe-scale',
  slots: { items: 'words', item: 'words', f: 'number', s: 'number', t: 'number' },
  phrasings: [
    phrase(
      'a',
      'A recipe uses {f} cups of flour to make {s} {items}. How many cups of flour are needed to make {t} {items}?',
    ),
    phrase(
      'b',
      'To bake {s} {items} you need {f} cups of flour. How many cups of flour are needed to make {t} {items}?',
    ),
    phrase(
      'o',
      'With {f} cups of flour a baker gets exactly {s} {items}. How many cups of flour are needed to make {t} {items}?',
      true,
    ),
  ],
  steps: [
    step(
      'each',
      'divide',
      ['f', 's'],
      ['How many cups of flour does one {item} need?', 'How much flour does one {item} need?'],
    ),
    step('total', 'multiply', ['each', 't'], ['How many cups of flour are needed to make {t} {items}?']),
  ],
  sample: ({ random }) => {
    const quarters = random.integer(1, 4);
    const s = random.pick([4, 8, 12, 16]);
    return { ...nounSlots(random.pick(bakedGoods)), s, f: (quarters * s) / 4, t: 4 * random.integer(2, 12) };
  },
};

export const gardenRows: MathTemplate = {
  id: 'garden-rows',
  slots: { A: 'name', items: 'words', r: 'number', c: 'number', e: 'number' },
  phrasings: [
    phrase(
      'a',
      '{A} plants {r} rows of {items} with {c} {items} in each row. Rabbits eat {e} of them. How many {items} are left?',
    ),
    phrase(
      'b',
      'In the garden, {A} plants {r} rows with {c} {items} in each row, but rabbits eat {e} of them. How many {items} are left?',
    ),
    phrase(
      'o',
      'Rabbits eat {e} of the {items} that {A} planted in {r} rows of {c}. How many {items} are left?',
      true,
    ),
  ],
  steps: [
    step(
      'planted',
      'multiply',
      ['r', 'c'],
      ['How many {items} does {A} plant?', 'How many {items} are planted?'],
    ),
    step('left', 'subtract', ['planted', 'e'], ['How many {items} are left?']),
  ],
  sample: ({ random, names }) => {
    const r = random.integer(2, 12);
    const c = random.integer(3, 20);
    return {
      A: names(1)[0] as string,
      ...nounSlots(random.pick(plants)),
      r,
      c,
      e: random.integer(1, r * c - 1),
    };
  },
};

export const wageDays: MathTemplate = {
  id: 'wage-days',
  slots: { A: 'name', w: 'number', h: 'number', d: 'number' },
  moneySlots: ['w'],
  phrasings: [
    phrase('a', '{A} earns ${w} per hour and works {h} hours a day. How much does {A} earn in {d} days?'),
    phrase('b', '{A} works {h} hours a day for ${w} an hour. How much does {A} earn in {d} days?'),
    phrase(
      'o',
      'Paid ${w} for every hour, {A} puts in {h} hours daily. How much does {A} earn in {d} days?',
      true,
    ),
  ],
  steps: [
    step(
      'daily',
      'multiply',
      ['w', 'h'],
      [
        'How much does {A} earn per day?',
        'How much does {A} earn in one day?',
        'How much does {A} earn each day?',
      ],
    ),
    step('total', 'multiply', ['daily', 'd'], ['How much does {A} earn in {d} days?']),
  ],
  sample: ({ random, names }) => ({
    A: names(1)[0] as string,
    w: random.integer(8, 40),
    h: random.integer(2, 10),
    d: random.integer(2, 6),
  }),
};

export const shortTemplates: readonly MathTemplate[] = [
  addMore,
  shareEqually,
  unitCost,
  moreTotal,
  timesDifference,
  percentLeft,
  rateDays,
  savingsWeeks,
  recipeScale,
  gardenRows,
  wageDays,
];
