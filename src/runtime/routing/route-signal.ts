/**
 * A route signal's value for one decomposition (higher: more confident), and which bricks can
 * give it. Log-probabilities and sampled agreement need a brick that runs its model locally
 * (`onnx`); the reference expert, the gold annotations and remote `openai` bricks report none,
 * so they may only stand last in a cascade (the brick nobody escalates from).
 */
import type { BrickKind, DecomposeOutput } from '../bricks/brick.js';
import type { InlineRoute, RouteSignal } from '../../data/route-schema.js';
import { decompositionFeatures, scoreFeatures } from './scorer.js';

const confidentKinds: readonly BrickKind[] = ['onnx'];

/** Whether a brick of this kind reports the confidence a route signal reads. */
export function brickGivesSignal(kind: BrickKind, _signal: RouteSignal): boolean {
  return confidentKinds.includes(kind);
}

/** The route's signal for a decomposition; undefined when the brick did not measure it. */
export function signalValue(
  route: InlineRoute,
  output: Pick<DecomposeOutput, 'subquestions' | 'kind' | 'confidence'>,
): number | undefined {
  return signalValueOf(route.by, output, route);
}

export function signalValueOf(
  signal: RouteSignal,
  output: Pick<DecomposeOutput, 'subquestions' | 'kind' | 'confidence'>,
  route?: Pick<InlineRoute, 'scorer'>,
): number | undefined {
  const confidence = output.confidence;
  switch (signal) {
    case 'mean-logprob':
      return confidence?.meanLogProbability;
    case 'min-logprob':
      return confidence?.minLogProbability;
    case 'agreement':
      return confidence?.agreement;
    case 'scorer':
      return route?.scorer === undefined
        ? undefined
        : scoreFeatures(route.scorer, decompositionFeatures(output));
  }
}
