/** Math templates of five and six steps, held out: generated only for the `ood` split. */
import { phrase, step } from './template-types.js';
import type { MathTemplate, SlotValues } from './template-types.js';
import { bakedGoods, countables, products } from './vocabulary.js';
import type { Noun } from './vocabulary.js';

const nounSlots = (noun: Noun, suffix = ''): SlotValues => ({
  [`item${suffix}`]: noun.singular,
  [`items${suffix}`]: noun.plural,
});

export const partySplit: MathTemplate = {
  id: 'party-split',
  ood: true,
  slots: { A: 'name', n: 'number', p: 'number', m: 'number', q: 'number', c: 'number', k: 'number' },
  moneySlots: ['p', 'q', 'c'],
  phrasings: [
    phrase(
      'a',
      '{A} buys {n} pizzas for ${p} each, {m} bottles of juice for ${q} each and a cake for ${c}. {A} splits the total cost equally among {k} friends. How much does each friend pay?',
    ),
    phrase(
      'b',
      'For a party, {A} orders {n} pizzas at ${p} each and {m} bottles of juice at ${q} each, plus a ${c} cake. The {k} friends share the cost equally. How much does each friend pay?',
    ),
  ],
  steps: [
    step('pizzas', 'multiply', ['n', 'p'], ['How much do the pizzas cost?']),
    step('juice', 'multiply', ['m', 'q'], ['How much does the juice cost?']),
    step('food', 'add', ['pizzas', 'juice'], ['How much do the pizzas and the juice cost together?']),
    step(
      'total',
      'add',
      ['food', 'c'],
      ['How much does the party cost in total?', 'What is the total cost?'],
    ),
    step('each', 'divide', ['total', 'k'], ['How much does each friend pay?']),
  ],
  sample: ({ random, names }) => {
    const k = random.integer(2, 8);
    const n = random.integer(2, 6);
    const p = random.integer(8, 20);
    const m = random.integer(2, 10);
    const q = random.integer(1, 4);
    const partial = n * p + m * q;
    const c = k * Math.ceil((partial + 10) / k) - partial + k * random.integer(0, 3);
    return { A: names(1)[0] as string, n, p, m, q, c, k };
  },
};

export const storeWeek: MathTemplate = {
  id: 'store-week',
  ood: true,
  slots: { items: 'words', a: 'number', s: 'number', k: 'number', boxes: 'number', per: 'number' },
  phrasings: [
    phrase(
      'a',
      'A store has {a} {items}. It sells {s} {items} on Monday and {k} times as many on Tuesday. On Wednesday it receives {boxes} boxes with {per} {items} in each box. How many {items} does the store have at the end of Wednesday?',
    ),
    phrase(
      'b',
      'A shop starts the week with {a} {items}, sells {s} on Monday and {k} times that many on Tuesday, then gets {boxes} boxes of {per} {items} on Wednesday. How many {items} does the store have at the end of Wednesday?',
    ),
  ],
  steps: [
    step('tuesday', 'multiply', ['s', 'k'], ['How many {items} does the store sell on Tuesday?']),
    step(
      'sold',
      'add',
      ['s', 'tuesday'],
      [
        'How many {items} does the store sell on Monday and Tuesday?',
        'How many {items} does the store sell in total?',
      ],
    ),
    step(
      'left',
      'subtract',
      ['a', 'sold'],
      ['How many {items} does the store have after Tuesday?', 'How many {items} are left after Tuesday?'],
    ),
    step('received', 'multiply', ['boxes', 'per'], ['How many {items} does the store receive on Wednesday?']),
    step(
      'final',
      'add',
      ['left', 'received'],
      ['How many {items} does the store have at the end of Wednesday?'],
    ),
  ],
  sample: ({ random }) => {
    const s = random.integer(5, 40);
    const k = random.integer(2, 4);
    return {
      ...nounSlots(random.pick(products)),
      s,
      k,
      a: s * (k + 1) + random.integer(5, 200),
      boxes: random.integer(2, 9),
      per: random.integer(6, 24),
    };
  },
};

export const fourFriends: MathTemplate = {
  id: 'four-friends',
  ood: true,
  slots: {
    A: 'name',
    B: 'name',
    C: 'name',
    D: 'name',
    items: 'words',
    a: 'number',
    d: 'number',
    k: 'number',
    e: 'number',
  },
  phrasings: [
    phrase(
      'a',
      '{A} has {a} {items}. {B} has {d} more {items} than {A}. {C} has {k} times as many {items} as {B}. {D} has {e} fewer {items} than {C}. How many {items} do the four friends have together?',
    ),
    phrase(
      'b',
      '{A} has {a} {items}, {B} has {d} more than {A}, {C} has {k} times as many as {B}, and {D} has {e} fewer than {C}. How many {items} do the four friends have together?',
    ),
  ],
  steps: [
    step('second', 'add', ['a', 'd'], ['How many {items} does {B} have?']),
    step('third', 'multiply', ['second', 'k'], ['How many {items} does {C} have?']),
    step('fourth', 'subtract', ['third', 'e'], ['How many {items} does {D} have?']),
    step('pair', 'add', ['a', 'second'], ['How many {items} do {A} and {B} have together?']),
    step('triple', 'add', ['pair', 'third'], ['How many {items} do {A}, {B} and {C} have together?']),
    step(
      'total',
      'add',
      ['triple', 'fourth'],
      [
        'How many {items} do the four friends have together?',
        'How many {items} do {A}, {B}, {C} and {D} have together?',
      ],
    ),
  ],
  sample: ({ random, names }) => {
    const [A, B, C, D] = names(4) as [string, string, string, string];
    const a = random.integer(3, 30);
    const d = random.integer(1, 20);
    const k = random.integer(2, 4);
    return {
      A,
      B,
      C,
      D,
      ...nounSlots(random.pick(countables)),
      a,
      d,
      k,
      e: random.integer(1, (a + d) * k - 1),
    };
  },
};

export const discountChange: MathTemplate = {
  id: 'discount-change',
  ood: true,
  slots: {
    A: 'name',
    items: 'words',
    items2: 'words',
    n: 'number',
    p: 'number',
    m: 'number',
    q: 'number',
    pct: 'number',
    bill: 'number',
  },
  moneySlots: ['p', 'q', 'bill'],
  phrasings: [
    phrase(
      'a',
      '{A} buys {n} {items} for ${p} each and {m} {items2} for ${q} each. The shop takes {pct}% off the whole purchase. {A} pays with a ${bill} bill. How much change does {A} get?',
    ),
    phrase(
      'b',
      'With a ${bill} bill, {A} pays for {n} {items} at ${p} each and {m} {items2} at ${q} each after a {pct}% discount on the whole purchase. How much change does {A} get?',
    ),
  ],
  steps: [
    step('first', 'multiply', ['n', 'p'], ['How much do the {items} cost?']),
    step('second', 'multiply', ['m', 'q'], ['How much do the {items2} cost?']),
    step(
      'spent',
      'add',
      ['first', 'second'],
      ['How much does the purchase cost before the discount?', 'What is the total before the discount?'],
    ),
    step('discount', 'percent-of', ['spent', 'pct'], ['How much is the discount?']),
    step('paid', 'subtract', ['spent', 'discount'], ['How much does {A} pay after the discount?']),
    step('change', 'subtract', ['bill', 'paid'], ['How much change does {A} get?']),
  ],
  sample: ({ random, names }) => {
    const n = random.integer(2, 8);
    const p = 2 * random.integer(1, 10);
    const m = random.integer(2, 8);
    const q = 2 * random.integer(1, 10);
    const bill = 100 * Math.ceil((n * p + m * q + 1) / 100);
    return {
      A: names(1)[0] as string,
      ...nounSlots(random.pick(bakedGoods)),
      ...nounSlots(random.pick(countables), '2'),
      n,
      p,
      m,
      q,
      pct: random.pick([10, 20, 25, 50]),
      bill,
    };
  },
};

export const heldOutTemplates: readonly MathTemplate[] = [partySplit, storeWeek, fourFriends, discountChange];
