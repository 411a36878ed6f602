/**
 * Mixtral's sparse MoE block (`MixtralSparseMoeBlock`) in the engine's builder, and the router's
 * auxiliary losses.
 *
 * Routing (Mixtral): router logits = x Wgᵀ (N, E); p = softmax over all E experts; the top-k experts
 * of each row keep their p, renormalized to sum to 1; output = Σ_e weight_e · expert_e(x) with
 * expert_e(x) = w2 (silu(w1 x) ⊙ w3 x).
 *
 * Formulation: every expert runs densely on every row, and the (N, E) weight matrix is zero outside
 * each row's top-k. The experts' w1 / w3 are concatenated into one (E·F, C) matrix and w2 into one
 * (C, E·F) matrix, so a layer is three Gemms (as a dense MLP of width E·F) and the weighting sits
 * between the SwiGLU and w2 (w2 is linear, so weighting its input equals weighting its output).
 * The top-k mask comes from TopK's integer indices, which autodiff treats as constants (the choice
 * is piecewise constant in the logits); gradients reach the router through the kept probabilities.
 * Compute is E/k times that of the active experts: simple and exactly Mixtral's function, not fast.
 */
import { type Value } from '../engine/graph-core.js';
import { type Graph } from '../engine/graph.js';
import { expertWeightName, type MixtureOfExperts, routerWeightName } from './moe-config.js';

/** What one mixture layer's router did, for the auxiliary losses and the routing metrics. */
export interface RouterOutputs {
  layer: number;
  /** (N, E) router logits x Wgᵀ. */
  logits: Value;
  /** (N, E) softmax over every expert. */
  probabilities: Value;
  /** (N, E) 1 where the expert is among the row's top-k, else 0 (constant to autodiff). */
  mask: Value;
}

export interface MixtureContext {
  g: Graph;
  weight: (name: string) => Value;
  moe: MixtureOfExperts;
  /** Each expert's intermediate size F. */
  intermediateSize: number;
}

/** (N, E): 1 at each row's top-k probabilities. */
function topKMask(g: Graph, probabilities: Value, experts: number, topK: number): Value {
  if (topK === experts) return g.add(g.zerosLike(probabilities), 1); // every expert: no TopK
  const { indices } = g.topK(probabilities, topK); // (N, k) int64
  const chosen = g.reduceSum(g.oneHot(indices, experts), [1]); // (N, k, E) → (N, E) float32
  return probabilities.dataType === 'float32' ? chosen : g.cast(chosen, probabilities.dataType);
}

/** The router: logits, probabilities, top-k mask and the renormalized (N, E) expert weights. */
export function route(
  context: MixtureContext,
  x: Value,
  layer: number,
): { routing: RouterOutputs; weights: Value } {
  const { g, weight, moe } = context;
  const logits = g.gemm(x, weight(routerWeightName(layer)), null, { transposeB: true }); // (N, E)
  const probabilities = g.softmax(logits, -1); // (N, E)
  const mask = topKMask(g, probabilities, moe.experts, moe.topK); // (N, E)
  const kept = g.mul(probabilities, mask); // (N, E)
  const weights = g.div(kept, g.reduceSum(kept, [-1], true)); // (N, E): top-k renormalized
  return { routing: { layer, logits, probabilities, mask }, weights };
}

function concatenated(g: Graph, values: Value[], axis: number): Value {
  return values.length === 1 ? values[0] : g.concat(values, axis);
}

/** One mixture layer: x (N, C) → (N, C), and its router's outputs. */
export function mixtureOfExperts(
  context: MixtureContext,
  x: Value,
  layer: number,
): { out: Value; routing: RouterOutputs } {
  const { g, weight, moe, intermediateSize: F } = context;
  const E = moe.experts;
  const { routing, weights } = route(context, x, layer);
  const experts = [...Array(E).keys()];
  const w1 = concatenated(
    g,
    experts.map((e) => weight(expertWeightName(layer, e, 'w1'))),
    0,
  ); // (E·F, C)
  const w3 = concatenated(
    g,
    experts.map((e) => weight(expertWeightName(layer, e, 'w3'))),
    0,
  ); // (E·F, C)
  const w2 = concatenated(
    g,
    experts.map((e) => weight(expertWeightName(layer, e, 'w2'))),
    1,
  ); // (C, E·F)
  const gate = g.gemm(x, w1, null, { transposeB: true }); // (N, E·F)
  const up = g.gemm(x, w3, null, { transposeB: true }); // (N, E·F)
  const hidden = g.mul(g.mul(gate, g.sigmoid(gate)), up); // (N, E·F): silu(w1 x) ⊙ w3 x
  const weighted = g.mul(g.reshape(hidden, [-1, E, F]), g.unsqueeze(weights, [2])); // (N, E, F)
  const out = g.gemm(g.reshape(weighted, [-1, E * F]), w2, null, { transposeB: true }); // (N, C)
  return { out, routing };
}

/**
 * Switch load balancing as Hugging Face's `load_balancing_loss_func` (Mixtral's
 * `router_aux_loss_coef` multiplies it): with every layer's rows taken together, E · Σ_e f_e · P_e,
 * f_e the share of rows whose top-k holds e (summed over the k choices, so a balanced router scores
 * k) and P_e the mean router probability of e. Layers see the same rows, so the means over all of
 * them are the means of the per-layer means.
 */
export function balanceLoss(g: Graph, routings: readonly RouterOutputs[], experts: number): Value {
  const layers = routings.length;
  const share = g.sum(routings.map((routing) => g.reduceMean(routing.mask, [0]))); // (E): L · f
  const probability = g.sum(routings.map((routing) => g.reduceMean(routing.probabilities, [0]))); // (E): L · P
  return g.mul(g.sumAll(g.mul(share, probability)), experts / (layers * layers)); // ()
}

/** Router z-loss (ST-MoE) of one layer: mean over rows of logsumexp(logits)². */
export function routerZLoss(g: Graph, routing: RouterOutputs): Value {
  const logSumExp = g.reduceLogSumExp(routing.logits, [-1]); // (N)
  return g.reduceMean(g.mul(logSumExp, logSumExp), [0]); // ()
}

/**
 * balanceLoss · the balance loss over every mixture layer + zLoss · the mean over layers of the
 * z-loss, to add to the language-model loss; undefined without mixture layers. Every row counts
 * (padding included), as in Hugging Face without an attention mask.
 */
export function auxiliaryLoss(
  g: Graph,
  moe: MixtureOfExperts | undefined,
  routings: readonly RouterOutputs[],
): Value | undefined {
  if (moe === undefined || routings.length === 0) return undefined;
  const parts: Value[] = [];
  if (moe.balanceLoss > 0) parts.push(g.mul(balanceLoss(g, routings, moe.experts), moe.balanceLoss));
  if (moe.zLoss > 0) {
    const z = g.sum(routings.map((routing) => routerZLoss(g, routing)));
    parts.push(g.mul(z, moe.zLoss / routings.length));
  }
  return parts.length === 0 ? undefined : g.sum(parts);
}
