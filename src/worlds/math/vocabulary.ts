/** The math world's nouns and agent names (names generated, partitioned by split). */
import { NameMaker } from '../names.js';
import { Random } from '../random.js';
import { partitionOf } from '../hops/knowledge-base.js';
import type { SplitName } from '../types.js';

export interface Noun {
  singular: string;
  plural: string;
}

const noun = (singular: string, plural = `${singular}s`): Noun => ({ singular, plural });

export const countables: readonly Noun[] = [
  noun('apple'),
  noun('pencil'),
  noun('marble'),
  noun('sticker'),
  noun('book'),
  noun('orange'),
  noun('shell'),
  noun('card'),
  noun('stamp'),
  noun('coin'),
  noun('toy car'),
  noun('comic'),
  noun('balloon'),
  noun('crayon'),
  noun('puzzle'),
  noun('rock'),
  noun('button'),
  noun('ribbon'),
];
export const bakedGoods: readonly Noun[] = [
  noun('cookie'),
  noun('muffin'),
  noun('cupcake'),
  noun('brownie'),
  noun('pie'),
  noun('bagel'),
  noun('scone'),
];
export const products: readonly Noun[] = [
  noun('toy'),
  noun('bottle'),
  noun('widget'),
  noun('box', 'boxes'),
  noun('chair'),
  noun('lamp'),
  noun('cup'),
  noun('bolt'),
];
export const plants: readonly Noun[] = [
  noun('tomato', 'tomatoes'),
  noun('carrot'),
  noun('tulip'),
  noun('cabbage'),
  noun('pepper'),
  noun('lettuce', 'lettuces'),
];

const agentNameSeed = 7_310_529;
const agentNameCount = 900;

let pools: Record<SplitName, string[]> | undefined;

/** Agent names of a split's partition (the same hash rule as the hops entities). */
export function agentNames(split: SplitName): readonly string[] {
  if (!pools) {
    const maker = new NameMaker(new Random(agentNameSeed));
    const all: Record<SplitName, string[]> = { train: [], test: [], ood: [] };
    for (let index = 0; index < agentNameCount; index += 1) {
      all[partitionOf(`agent:${index}`)].push(maker.make('first'));
    }
    pools = all;
  }
  return pools[split];
}
