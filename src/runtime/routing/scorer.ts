/**
 * The learned route signal: a logistic regression P(the chain reaches the gold answer | features
 * of the cheap decomposer's output). Features are standardised with the training set's mean and
 * scale; the fit is plain batch gradient descent with a small L2 penalty. Hand-written: it is a
 * dozen lines, and no installed package offers logistic regression.
 */
import type { DecomposeOutput } from '../bricks/brick.js';
import type { Scorer, ScorerFeature } from '../../data/route-schema.js';

/** What a scorer reads from one decomposition (undefined: the brick could not measure it). */
export type FeatureValues = Partial<Record<ScorerFeature, number>>;

export function decompositionFeatures(
  output: Pick<DecomposeOutput, 'subquestions' | 'kind' | 'confidence'>,
): FeatureValues {
  const confidence = output.confidence;
  const values: FeatureValues = {
    subquestions: output.subquestions.length,
    'no-decomposition': output.kind === 'no-decomposition' ? 1 : 0,
  };
  if (confidence !== undefined) {
    values['mean-logprob'] = confidence.meanLogProbability;
    values['min-logprob'] = confidence.minLogProbability;
    values['log-output-tokens'] = Math.log1p(confidence.tokens);
    if (confidence.agreement !== undefined) values.agreement = confidence.agreement;
  }
  return values;
}

function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

/** P(correct) under the scorer; undefined when a feature it reads is missing. */
export function scoreFeatures(scorer: Scorer, values: FeatureValues): number | undefined {
  let logit = scorer.bias;
  for (const [index, feature] of scorer.features.entries()) {
    const value = values[feature];
    if (value === undefined || !Number.isFinite(value)) return undefined;
    logit += scorer.weights[index]! * ((value - scorer.means[index]!) / scorer.scales[index]!);
  }
  return sigmoid(logit);
}

export interface FitOptions {
  /** L2 penalty on the weights (default 0.01). */
  l2?: number;
  /** Gradient steps (default 2000). */
  steps?: number;
  learningRate?: number;
}

/** Fits a scorer on examples that have every feature (the others are skipped). */
export function fitScorer(
  features: readonly ScorerFeature[],
  examples: readonly { values: FeatureValues; correct: boolean }[],
  options: FitOptions = {},
): Scorer {
  const rows = examples.filter((example) =>
    features.every((feature) => Number.isFinite(example.values[feature])),
  );
  if (rows.length === 0) throw new Error(`no example has every scorer feature (${features.join(', ')})`);
  const matrix = rows.map((row) => features.map((feature) => row.values[feature]!)); // (N, F)
  const labels = rows.map((row) => (row.correct ? 1 : 0)); // (N)
  const means = features.map((_, column) => matrix.reduce((sum, row) => sum + row[column]!, 0) / rows.length);
  const scales = features.map((_, column) => {
    const variance = matrix.reduce((sum, row) => sum + (row[column]! - means[column]!) ** 2, 0) / rows.length;
    return variance > 1e-12 ? Math.sqrt(variance) : 1;
  });
  const standardised = matrix.map((row) =>
    row.map((value, column) => (value - means[column]!) / scales[column]!),
  );
  const weights = features.map(() => 0);
  let bias = 0;
  const { l2 = 0.01, steps = 2000, learningRate = 0.5 } = options;
  for (let step = 0; step < steps; step += 1) {
    const gradient = features.map(() => 0);
    let biasGradient = 0;
    standardised.forEach((row, index) => {
      const logit = row.reduce((sum, value, column) => sum + weights[column]! * value, bias);
      const error = sigmoid(logit) - labels[index]!;
      row.forEach((value, column) => (gradient[column]! += error * value));
      biasGradient += error;
    });
    weights.forEach((weight, column) => {
      weights[column] = weight - learningRate * (gradient[column]! / rows.length + l2 * weight);
    });
    bias -= learningRate * (biasGradient / rows.length);
  }
  return { features: [...features], weights, bias, means, scales };
}
