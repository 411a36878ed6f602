/**
 * Weighted combination of LoRA adapters of one base, as PEFT's `add_weighted_adapter` with
 * `combination_type="cat"` does it (peft/tuners/lora/model.py): for every adapted module,
 *
 *   ΔW = Σ_i w_i · (α_i / r_i) · B_i A_i  =  B_cat A_cat,
 *   A_cat = [A_1; A_2; …]               (Σ r_i, in)   rows stacked
 *   B_cat = [w_1 s_1 B_1 | w_2 s_2 B_2 | …]  (out, Σ r_i)  columns side by side, s_i = α_i / r_i
 *
 * with r = α = Σ r_i in the result's adapter_config.json (scale 1), exactly what PEFT writes. The
 * combination is exact: the result changes the base by the weighted sum of the parents' changes.
 * Modules are the union of the parents' targets; a parent that does not adapt a module contributes
 * zero rows and columns there (ΔW_i = 0).
 */
import { Matrix, QrDecomposition, SingularValueDecomposition } from 'ml-matrix';
import { projectionNames, type ProjectionName, type StudentArchitecture } from '../student/config.js';
import { loraNames, loraPairs, loraScaling, type LoraSettings } from '../student/lora.js';

export interface WeightedAdapter {
  settings: LoraSettings;
  /** A and B under dnc's names (`model.layers.0.self_attn.q_proj.lora_A.weight`). */
  weights: ReadonlyMap<string, Float32Array>;
  weight: number;
}

export interface CombinedAdapter {
  settings: LoraSettings;
  weights: Map<string, Float32Array>;
}

/** The union of the parents' targets, in the architecture's projection order. */
export function unionTargets(parents: readonly { settings: LoraSettings }[]): ProjectionName[] {
  const used = new Set(parents.flatMap((parent) => parent.settings.targets));
  return projectionNames.filter((name) => used.has(name));
}

/** PEFT's "cat" combination: exact, rank Σ r_i, alpha = rank (scale 1). */
export function concatenateAdapters(
  architecture: StudentArchitecture,
  parents: readonly WeightedAdapter[],
): CombinedAdapter {
  if (parents.length === 0) throw new Error('concatenateAdapters: no adapters to combine');
  const rank = parents.reduce((sum, parent) => sum + parent.settings.rank, 0);
  const settings: LoraSettings = { rank, alpha: rank, dropout: 0, targets: unionTargets(parents) };
  const weights = new Map<string, Float32Array>();
  for (const pair of loraPairs(architecture, settings)) {
    const a = new Float32Array(rank * pair.in); // (R, in)
    const b = new Float32Array(pair.out * rank); // (out, R)
    let offset = 0; // the parent's first row of A_cat / column of B_cat
    for (const parent of parents) {
      const r = parent.settings.rank;
      if (parent.settings.targets.includes(pair.projection)) {
        const parentA = parent.weights.get(loraNames.a(pair.layer, pair.projection)); // (r, in)
        const parentB = parent.weights.get(loraNames.b(pair.layer, pair.projection)); // (out, r)
        if (parentA === undefined || parentB === undefined)
          throw new Error(
            `concatenateAdapters: an adapter lacks its ${pair.projection} pair of layer ${pair.layer}`,
          );
        a.set(parentA, offset * pair.in);
        const coefficient = parent.weight * loraScaling(parent.settings);
        for (let row = 0; row < pair.out; row += 1)
          for (let k = 0; k < r; k += 1) b[row * rank + offset + k] = coefficient * parentB[row * r + k];
      }
      offset += r;
    }
    weights.set(loraNames.a(pair.layer, pair.projection), a);
    weights.set(loraNames.b(pair.layer, pair.projection), b);
  }
  return { settings, weights };
}

/**
 * ΔW = (α / r) · B A of one module of an adapter (out, in), or undefined when the adapter does not
 * adapt it. In plain loops (out · in · r multiply-adds): used by tests and by checks, once per module.
 */
export function adapterDelta(
  architecture: StudentArchitecture,
  adapter: { settings: LoraSettings; weights: ReadonlyMap<string, Float32Array> },
  layer: number,
  projection: ProjectionName,
): Float32Array | undefined {
  if (!adapter.settings.targets.includes(projection)) return undefined;
  const pair = loraPairs(architecture, { ...adapter.settings, targets: [projection] })[layer];
  const a = adapter.weights.get(loraNames.a(layer, projection))!;
  const b = adapter.weights.get(loraNames.b(layer, projection))!;
  const { rank } = adapter.settings;
  const scaling = loraScaling(adapter.settings);
  const delta = new Float32Array(pair.out * pair.in);
  for (let row = 0; row < pair.out; row += 1)
    for (let k = 0; k < rank; k += 1) {
      const coefficient = scaling * b[row * rank + k];
      for (let column = 0; column < pair.in; column += 1)
        delta[row * pair.in + column] += coefficient * a[k * pair.in + column];
    }
  return delta;
}

/**
 * PEFT's "svd" combination: the exact ΔW of `concatenateAdapters`, truncated to rank `rank` by its
 * singular value decomposition, B = U_r Σ_r (out, r) and A = V_rᵀ (r, in), r = α = `rank` (scale 1),
 * as PEFT's `add_weighted_adapter(..., combination_type="svd", svd_rank=r)` writes it. The best
 * rank-r approximation of the weighted sum (Eckart–Young); exact when r ≥ Σ r_i.
 *
 * ΔW = B_cat A_cat has rank at most R = Σ r_i, so the SVD is taken of a small matrix instead of the
 * (out, in) one: B_cat = Q_B R_B, A_catᵀ = Q_A R_A (thin QR), R_B R_Aᵀ = U Σ Vᵀ (R × R), and
 * ΔW = (Q_B U) Σ (Q_A V)ᵀ. QR and SVD come from ml-matrix, in float64.
 */
export function svdCombination(
  architecture: StudentArchitecture,
  parents: readonly WeightedAdapter[],
  rank: number,
): CombinedAdapter {
  const exact = concatenateAdapters(architecture, parents);
  const total = exact.settings.rank; // R
  const settings: LoraSettings = { ...exact.settings, rank, alpha: rank };
  const weights = new Map<string, Float32Array>();
  for (const pair of loraPairs(architecture, exact.settings)) {
    const aName = loraNames.a(pair.layer, pair.projection);
    const bName = loraNames.b(pair.layer, pair.projection);
    const b = new Matrix(pair.out, total); // (out, R)
    const aTransposed = new Matrix(pair.in, total); // (in, R)
    const catA = exact.weights.get(aName)!;
    const catB = exact.weights.get(bName)!;
    for (let row = 0; row < pair.out; row += 1)
      for (let k = 0; k < total; k += 1) b.set(row, k, catB[row * total + k]);
    for (let k = 0; k < total; k += 1)
      for (let column = 0; column < pair.in; column += 1)
        aTransposed.set(column, k, catA[k * pair.in + column]);
    const qrB = new QrDecomposition(b);
    const qrA = new QrDecomposition(aTransposed);
    const core = qrB.upperTriangularMatrix.mmul(qrA.upperTriangularMatrix.transpose()); // (R, R)
    const svd = new SingularValueDecomposition(core, { autoTranspose: true });
    const left = qrB.orthogonalMatrix.mmul(svd.leftSingularVectors); // (out, R)
    const right = qrA.orthogonalMatrix.mmul(svd.rightSingularVectors); // (in, R)
    const a = new Float32Array(rank * pair.in); // (r, in): rows past R stay 0
    const newB = new Float32Array(pair.out * rank); // (out, r)
    for (let k = 0; k < Math.min(rank, total); k += 1) {
      const sigma = svd.diagonal[k];
      for (let row = 0; row < pair.out; row += 1) newB[row * rank + k] = left.get(row, k) * sigma;
      for (let column = 0; column < pair.in; column += 1) a[k * pair.in + column] = right.get(column, k);
    }
    weights.set(aName, a);
    weights.set(bName, newB);
  }
  return { settings, weights };
}
