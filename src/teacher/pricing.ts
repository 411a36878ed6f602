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
  const fineTuned = lookupFineTunedInferencePrice(model);
  if (fineTuned !== undefined) return fineTuned;
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

/** Dollars per million tokens of a fine-tuned model: training, and inference of the result. */
export interface FineTuningPrice {
  trainingPerMillion: number;
  inputPerMillion: number;
  outputPerMillion: number;
}

/**
 * OpenAI's published fine-tuning prices (https://openai.com/api/pricing, "Fine-tuning", as listed
 * in 2025; standard tier, not the Batch API): training per million trained tokens (examples × epochs),
 * and the fine-tuned model's input and output price. Keys are base models; a dated name uses the
 * longest listed prefix, as in `lookupPrice`.
 */
export const fineTuningPrices: Readonly<Record<string, FineTuningPrice>> = {
  'gpt-4o-mini': { trainingPerMillion: 3, inputPerMillion: 0.3, outputPerMillion: 1.2 },
  'gpt-4o': { trainingPerMillion: 25, inputPerMillion: 3.75, outputPerMillion: 15 },
  'gpt-4.1': { trainingPerMillion: 25, inputPerMillion: 3, outputPerMillion: 12 },
  'gpt-4.1-mini': { trainingPerMillion: 5, inputPerMillion: 0.8, outputPerMillion: 3.2 },
  'gpt-4.1-nano': { trainingPerMillion: 1.5, inputPerMillion: 0.2, outputPerMillion: 0.8 },
};

/** The fine-tuning price of a base model (exact name or longest `NAME-` prefix), if listed. */
export function lookupFineTuningPrice(
  base: string,
  prices: Readonly<Record<string, FineTuningPrice>> = fineTuningPrices,
): { price: FineTuningPrice; entry: string } | undefined {
  const entry =
    prices[base] !== undefined
      ? base
      : Object.keys(prices)
          .filter((name) => base.startsWith(`${name}-`))
          .sort((left, right) => right.length - left.length)[0];
  return entry === undefined ? undefined : { price: prices[entry]!, entry };
}

/** `ft:BASE:ORG:SUFFIX:ID` (OpenAI's fine-tuned model names) costs its base's fine-tuned inference price. */
function lookupFineTunedInferencePrice(model: string): PriceLookup | undefined {
  const base = /^ft:([^:]+):/.exec(model)?.[1];
  const found = base === undefined ? undefined : lookupFineTuningPrice(base);
  if (found === undefined) return undefined;
  const { inputPerMillion, outputPerMillion } = found.price;
  return { price: { inputPerMillion, outputPerMillion }, entry: `ft:${found.entry}` };
}
