/**
 * Token prices: dollars per million input and output tokens, from `defaults.prices`
 * (overridable). A dated model name (`gpt-4o-mini-2024-07-18`) uses the longest listed
 * prefix; an unknown model costs $0 and says so.
 */
import { defaults } from '../config/defaults.js';
import type { ModelPrice } from '../config/defaults.js';
import type { Usage } from '../data/schemas.js';

export type PriceTable = Readonly<Record<string, ModelPrice>>;

export interface PriceLookup {
  price: ModelPrice;
  /** The price table entry used, or undefined for an unknown model. */
  entry: string | undefined;
  warning?: string;
}

export function lookupPrice(model: string, prices: PriceTable = defaults.prices): PriceLookup {
  const exact = prices[model];
  if (exact !== undefined) return { price: exact, entry: model };
  const prefix = Object.keys(prices)
    .filter((name) => model.startsWith(`${name}-`))
    .sort((left, right) => right.length - left.length)[0];
  if (prefix !== undefined) return { price: prices[prefix]!, entry: prefix };
  return {
    price: { inputPerMillion: 0, outputPerMillion: 0 },
    entry: undefined,
    warning: `no price for model '${model}': counted as $0 (add it to the price table in config to count dollars)`,
  };
}

/** Dollars for `usage` at `price`, times `factor` (0.5 for the Batch API discount). */
export function priceUsage(usage: Usage, price: ModelPrice, factor = 1): number {
  const dollars =
    (usage.inputTokens * price.inputPerMillion + usage.outputTokens * price.outputPerMillion) / 1e6;
  return dollars * factor;
}

/** A rough token count for text that was never tokenised: about four characters a token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
