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
 * (DeepSeek-V3's gate, without its bias terms); `cosine` is X-MoE's as LibMoE runs it
 * (`smoe_cosinegating`): logits = cos(P x, e_j) / τ with a low-dimensional projection P (D, C) and
 * expert embeddings e (E, D), then Mixtral's softmax top-k. Hugging Face Mixtral implements only softmax.
 */
export const routerKinds = ['softmax', 'sigmoid', 'cosine'] as const;

/**
 * The cosine router's defaults, LibMoE's: D = E / 2 (rounded up, at least 2: in one dimension a
 * cosine is ±1 and routing ties) and a fixed temperature. LibMoE
 * keeps the expert embeddings at norm 1.5 and divides by 0.3, i.e. cos / 0.2; dnc normalizes both
 * sides inside the graph (differentiable, as X-MoE and tutel do) and divides by τ = 0.2.
 */
export const cosineRouterDefaults = { temperature: 0.2 } as const;

const defaultRouterDimension = (experts: number): number => Math.max(2, Math.ceil(experts / 2));

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
    /** Cosine router: the projection's dimension D (default max(2, ⌈E / 2⌉), fixed when the preset is read). */
    routerDimension: z
      .number()
      .int()
      .min(2, 'moe.routerDimension must be at least 2 (a cosine in one dimension is ±1, so experts tie)')
      .optional(),
    /** Cosine router: the fixed temperature τ of logits = cos / τ (default 0.2). */
    routerTemperature: z.number().positive().optional(),
  })
  .refine((moe) => moe.topK <= moe.experts, { message: 'moe.topK must not exceed moe.experts' })
  .refine(
    (moe) =>
      moe.router === 'cosine' || (moe.routerDimension === undefined && moe.routerTemperature === undefined),
    {
      message:
        'moe.routerDimension and moe.routerTemperature belong to router "cosine"; remove them or set router to "cosine"',
    },
  )
  .transform((moe) =>
    // D is fixed once: growth adds experts (and embedding rows) but keeps the projection.
    moe.router === 'cosine' && moe.routerDimension === undefined
      ? { ...moe, routerDimension: defaultRouterDimension(moe.experts) }
      : moe,
  );

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

/** The router's Linear weight (E, C); for the cosine router, the expert embeddings (E, D). */
export const routerWeightName = (layer: number): string => `${mixturePrefix(layer)}.gate.weight`;

/** The cosine router's projection (D, C) (X-MoE's `wg_reduction`, LibMoE's `inp_reduction`; no bias). */
export const routerProjectionName = (layer: number): string =>
  `${mixturePrefix(layer)}.gate.projection.weight`;

/** The width of a router row: C, or the cosine router's D. */
export function routerRowWidth(moe: MixtureOfExperts, hiddenSize: number): number {
  return moe.router === 'cosine' ? (moe.routerDimension ?? defaultRouterDimension(moe.experts)) : hiddenSize;
}

/** The router's (name, shape) tensors of a mixture layer, in export order. */
export function routerShapes(moe: MixtureOfExperts, hiddenSize: number, layer: number): [string, number[]][] {
  const width = routerRowWidth(moe, hiddenSize);
  const rows: [string, number[]] = [routerWeightName(layer), [moe.experts, width]];
  return moe.router === 'cosine' ? [rows, [routerProjectionName(layer), [width, hiddenSize]]] : [rows];
}

/** Router weights per mixture layer, which are also its multiply-adds per token: C·E, or C·D + D·E. */
export function routerParameterCount(moe: MixtureOfExperts, hiddenSize: number): number {
  return routerShapes(moe, hiddenSize, 0).reduce((sum, [, shape]) => sum + shape[0] * shape[1], 0);
}
