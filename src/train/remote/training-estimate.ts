/**
 * What a fine-tuning job will cost before it is created: estimated tokens × epochs × the base
 * model's training price (src/teacher/pricing.ts), and what it cost once done: the tokens the
 * service reports it trained on × the same price.
 */
import { defaults } from '../../config/defaults.js';
import { lookupFineTuningPrice } from '../../teacher/pricing.js';

export interface TrainingEstimate {
  tokens: number;
  epochs: number;
  /** True when the service chooses the epochs and the estimate assumed some. */
  epochsAssumed: boolean;
  trainedTokens: number;
  usd: number;
  /** The price table entry used, or undefined for an unknown base (counted as $0). */
  priceEntry: string | undefined;
}

export function trainingCostUsd(base: string, trainedTokens: number): number {
  const price = lookupFineTuningPrice(base)?.price.trainingPerMillion ?? 0;
  return (trainedTokens * price) / 1e6;
}

export function estimateTraining(base: string, tokens: number, epochs: number | undefined): TrainingEstimate {
  const chosen = epochs ?? defaults.fineTuning.assumedEpochs;
  const trainedTokens = tokens * chosen;
  return {
    tokens,
    epochs: chosen,
    epochsAssumed: epochs === undefined,
    trainedTokens,
    usd: trainingCostUsd(base, trainedTokens),
    priceEntry: lookupFineTuningPrice(base)?.entry,
  };
}

export function describeEstimate(base: string, estimate: TrainingEstimate): string {
  const price =
    estimate.priceEntry === undefined
      ? `no training price for '${base}' (counted as $0; the service bills what it bills)`
      : `$${lookupFineTuningPrice(base)!.price.trainingPerMillion.toFixed(2)}/M training tokens (${estimate.priceEntry})`;
  const epochs = estimate.epochsAssumed
    ? `${estimate.epochs} epochs (assumed; the service chooses)`
    : `${estimate.epochs} epochs`;
  return (
    `estimate: about ${estimate.tokens.toLocaleString('en-US')} tokens × ${epochs} = ` +
    `${estimate.trainedTokens.toLocaleString('en-US')} trained tokens at ${price}: $${estimate.usd.toFixed(2)}`
  );
}
