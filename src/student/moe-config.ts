/**
 * The sparse mixture-of-experts part of a student architecture (`architecture.moe` in a preset):
 * which layers replace their SwiGLU MLP with a top-k routed set of SwiGLU experts (Mixtral's
 * `block_sparse_moe`), and the weights of the router's auxiliary losses.
 */
import { z } from 'zod';

const positiveInteger = z.number().int().positive();

/**
 * Routers dnc builds: `softmax` is Mixtral's (softmax over every expert, top-k, renormalized);
 * `sigmoid` scores each expert on its own, sigmoid(logit), then keeps the top-k renormalized
 * (DeepSeek-V3's gate, without its bias terms). Hugging Face Mixtral implements only softmax.
 */
export const routerKinds = ['softmax', 'sigmoid'] as const;

export const mixtureOfExpertsSchema = z
  .strictObject({
    /** Experts per MoE layer (Mixtral's `num_local_experts`). */
    experts: positiveInteger,
    /** Experts each token runs through (Mixtral's `num_experts_per_tok`). */
    topK: positiveInteger,
    /** How router logits become expert weights (`softmax`: Mixtral's; `sigmoid`: per-expert scores). */
    router: z.enum(routerKinds).default('softmax'),
    /** Weight of the Switch load-balancing loss E · Σ_e f_e · P_e (Mixtral's `router_aux_loss_coef`). */
    balanceLoss: z.number().nonnegative().default(0.01),
    /** Weight of the router z-loss mean(logsumexp(router logits)²) (ST-MoE). */
    zLoss: z.number().nonnegative().default(0.001),
    /** Layers (0-based) whose MLP is a mixture; absent: every layer (as in Mixtral). */
    layers: z.array(z.number().int().nonnegative()).min(1).optional(),
  })
  .refine((moe) => moe.topK <= moe.experts, { message: 'moe.topK must not exceed moe.experts' });

export type MixtureOfExperts = z.infer<typeof mixtureOfExpertsSchema>;

/** Whether `layer` of an architecture with `moe` routes its MLP through experts. */
export function isMixtureLayer(moe: MixtureOfExperts | undefined, layer: number): boolean {
  if (moe === undefined) return false;
  return moe.layers === undefined || moe.layers.includes(layer);
}

/** The module path of layer `layer`'s mixture (`model.layers.N.block_sparse_moe`). */
export const mixturePrefix = (layer: number): string => `model.layers.${layer}.block_sparse_moe`;

/** Mixtral's expert Linear names: w1 = gate_proj, w3 = up_proj, w2 = down_proj. */
export const expertWeightName = (layer: number, expert: number, linear: 'w1' | 'w2' | 'w3'): string =>
  `${mixturePrefix(layer)}.experts.${expert}.${linear}.weight`;

/** The router's Linear weight (E, C). */
export const routerWeightName = (layer: number): string => `${mixturePrefix(layer)}.gate.weight`;
