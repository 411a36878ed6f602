/** Math templates of three and four steps (in every split). */
import { phrase, step } from './template-types.js';
import type { MathTemplate, SlotValues } from './template-types.js';
import { bakedGoods, countables, products } from './vocabulary.js';
import type { Noun } from './vocabulary.js';

const nounSlots = (noun: Noun, suffix = ''): SlotValues => ({
  [`item${suffix}`]: noun.singular,
  [`items${suffix}`]: noun.plural,
});

export const discountTotal: MathTemplate = {
  id: 'discount-total',
  slots: { A: 'name', item: 'words', items: 'words', price: 'number', pct: 'number', n: 'number' },
  moneySlots: ['price'],
  phrasings: [
    phrase(
      'a',
      'A {item} costs ${price}. The store gives a {pct}% discount. {A} buys {n} {items}. How much does {A} pay?',
    ),
    phrase(
      'b',
      '{A} buys {n} {items}. Each {item} costs ${price}, but the store gives a {pct}% discount. How much does {A} pay?',
    ),
    phrase(
      'o',
      'With {pct}% off the usual ${price} per {item}, {A} takes home {n} {items}. How much does {A} pay?',
      true,
    ),
  ],
  steps: [
    step(
      'discount',
      'percent-of',
      ['price', 'pct'],
      ['How much is the discount on one {item}?', 'How much is the discount on each {item}?'],
    ),
    step(
      'price-after',
      'subtract',
      ['price', 'discount'],
      [
        'What is the price of one {item} after the discount?',
        'How much does one {item} cost after the discount?',
      ],
    ),
    step(
      'total',
      'multiply',
      ['n', 'price-after'],
      ['How much does {A} pay?', 'How much does {A} pay in total?'],
    ),
  ],
  sample: ({ random, names }) => ({
    A: names(1)[0] as string,
    ...nounSlots(random.pick(products)),
    pct: random.pick([10, 20, 25, 50]),
    price: 4 * random.integer(2, 30),
    n: random.integer(2, 9),
  }),
};

export const changeFromBill: MathTemplate = {
  id: 'change-from-bill',
  slots: {
    A: 'name',
    items: 'words',
    items2: 'words',
    n: 'number',
    p: 'number',
    m: 'number',
    q: 'number',
    bill: 'number',
  },
  moneySlots: ['p', 'q', 'bill'],
  phrasings: [
    phrase(
      'a',
      '{A} buys {n} {items} for ${p} each and {m} {items2} for ${q} each. {A} pays with a ${bill} bill. How much change does {A} get?',
    ),
    phrase(
      'b',
      '{A} pays with a ${bill} bill for {n} {items} at ${p} each and {m} {items2} at ${q} each. How much change does {A} get?',
    ),
    phrase(
      'o',
      'At the market, {n} {items} (${p} apiece) and {m} {items2} (${q} apiece) go into the bag of {A}, who hands over ${bill}. How much change does {A} get?',
      true,
    ),
  ],
  steps: [
    step('first', 'multiply', ['n', 'p'], ['How much do the {items} cost?']),
    step('second', 'multiply', ['m', 'q'], ['How much do the {items2} cost?']),
    step(
      'spent',
      'add',
      ['first', 'second'],
      ['How much does {A} spend in total?', 'How much does {A} spend?'],
    ),
    step('change', 'subtract', ['bill', 'spent'], ['How much change does {A} get?']),
  ],
  sample: ({ random, names }) => {
    const [first, second] = [random.pick(bakedGoods), random.pick(countables)];
    const n = random.integer(2, 8);
    const p = random.integer(1, 12);
    const m = random.integer(2, 8);
    const q = random.integer(1, 12);
    const bill = n * p + m * q <= 50 ? 50 : 100 * Math.ceil((n * p + m * q + 1) / 100);
    return { A: names(1)[0] as string, ...nounSlots(first), ...nounSlots(second, '2'), n, p, m, q, bill };
  },
};

export const threeFriends: MathTemplate = {
  id: 'three-friends',
  slots: { A: 'name', B: 'name', C: 'name', items: 'words', a: 'number', d: 'number', k: 'number' },
  phrasings: [
    phrase(
      'a',
      '{A} has {a} {items}. {B} has {d} fewer {items} than {A}. {C} has {k} times as many {items} as {B}. How many {items} do the three friends have together?',
    ),
    phrase(
      'b',
      '{A} has {a} {items}, {B} has {d} fewer than {A}, and {C} has {k} times as many as {B}. How many {items} do the three friends have together?',
    ),
    phrase(
      'o',
      '{C} collects {k} times as many {items} as {B}, and {B} collects {d} fewer than the {a} that {A} collects. How many {items} do the three friends have together?',
      true,
    ),
  ],
  steps: [
    step('second', 'subtract', ['a', 'd'], ['How many {items} does {B} have?']),
    step('third', 'multiply', ['second', 'k'], ['How many {items} does {C} have?']),
    step('pair', 'add', ['a', 'second'], ['How many {items} do {A} and {B} have together?']),
    step(
      'total',
      'add',
      ['pair', 'third'],
      [
        'How many {items} do the three friends have together?',
        'How many {items} do {A}, {B} and {C} have together?',
      ],
    ),
  ],
  sample: ({ random, names }) => {
    const [A, B, C] = names(3) as [string, string, string];
    const a = random.integer(10, 60);
    return {
      A,
      B,
      C,
      ...nounSlots(random.pick(countables)),
      a,
      d: random.integer(1, a - 2),
      k: random.integer(2, 5),
    };
  },
};

export const tripDistance: MathTemplate = {
  id: 'trip-distance',
  slots: { A: 'name', v1: 'number', h1: 'number', v2: 'number', h2: 'number' },
  phrasings: [
    phrase(
      'a',
      '{A} drives at {v1} miles per hour for {h1} hours and then at {v2} miles per hour for {h2} hours. How many miles does {A} drive in total?',
    ),
    phrase(
      'b',
      'First {A} drives for {h1} hours at {v1} miles per hour. Then {A} drives for {h2} hours at {v2} miles per hour. How many miles does {A} drive in total?',
    ),
    phrase(
      'o',
      '{h1} hours at {v1} miles per hour, then {h2} hours at {v2} miles per hour: how many miles does {A} drive in total?',
      true,
    ),
  ],
  steps: [
    step(
      'first',
      'multiply',
      ['v1', 'h1'],
      [
        'How many miles does {A} drive at {v1} miles per hour?',
        'How many miles does {A} drive in the first {h1} hours?',
      ],
    ),
    step(
      'second',
      'multiply',
      ['v2', 'h2'],
      [
        'How many miles does {A} drive at {v2} miles per hour?',
        'How many miles does {A} drive in the next {h2} hours?',
      ],
    ),
    step('total', 'add', ['first', 'second'], ['How many miles does {A} drive in total?']),
  ],
  sample: ({ random, names }) => {
    const v1 = 5 * random.integer(6, 14);
    let v2 = 5 * random.integer(6, 14);
    if (v2 === v1) v2 += 5;
    return { A: names(1)[0] as string, v1, h1: random.integer(1, 6), v2, h2: random.integer(1, 6) };
  },
};

export const bakeSale: MathTemplate = {
  id: 'bake-sale',
  slots: { A: 'name', items: 'words', t: 'number', c: 'number', keep: 'number', p: 'number' },
  moneySlots: ['p'],
  phrasings: [
    phrase(
      'a',
      '{A} bakes {t} trays of {items} with {c} {items} on each tray. {A} keeps {keep} of them and sells the rest for ${p} each. How much money does {A} make?',
    ),
    phrase(
      'b',
      'For a bake sale, {A} makes {t} trays of {c} {items}. {A} keeps {keep} and sells the rest for ${p} each. How much money does {A} make?',
    ),
    phrase(
      'o',
      'Selling every one of {t} trays of {c} {items} at ${p} apiece except the {keep} kept for family, how much money does {A} make?',
      true,
    ),
  ],
  steps: [
    step(
      'baked',
      'multiply',
      ['t', 'c'],
      ['How many {items} does {A} bake?', 'How many {items} does {A} make?'],
    ),
    step('sold', 'subtract', ['baked', 'keep'], ['How many {items} does {A} sell?']),
    step('money', 'multiply', ['sold', 'p'], ['How much money does {A} make?']),
  ],
  sample: ({ random, names }) => {
    const t = random.integer(2, 6);
    const c = random.integer(6, 24);
    return {
      A: names(1)[0] as string,
      ...nounSlots(random.pick(bakedGoods)),
      t,
      c,
      keep: random.integer(1, c),
      p: random.integer(1, 8) / 2,
    };
  },
};

export const longTemplates: readonly MathTemplate[] = [
  discountTotal,
  changeFromBill,
  threeFriends,
  tripDistance,
  bakeSale,
];
