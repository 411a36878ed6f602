/**
 * The adapter combinations on random adapters of the nano architecture: "cat" changes every module by
 * exactly Σ w_i (α_i / r_i) B_i A_i; "svd" with a rank at least Σ r_i is the same change, and with a
 * smaller rank it is the best rank-r approximation, checked against an SVD of the dense (out, in)
 * change computed independently (ml-matrix on the full matrix); an all-zero sum stays zero (no NaN).
 */
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adapterDelta,
  concatenateAdapters,
  svdCombination,
  type WeightedAdapter,
} from '../../src/export/adapter-combination.js';
import { loadPreset, type ProjectionName, type StudentArchitecture } from '../../src/student/config.js';
import { initializeLora, type LoraSettings } from '../../src/student/lora.js';

let architecture: StudentArchitecture;
let parents: WeightedAdapter[];

function randomAdapter(settings: LoraSettings, seed: number, weight: number): WeightedAdapter {
  const weights = initializeLora(architecture, settings, seed);
  for (const [name, values] of weights)
    if (name.includes('lora_B'))
      weights.set(
        name,
        values.map((_, index) => Math.sin(seed * 13 + index * index * 0.37) * 0.1), // sin(c + 0.7·index) would have rank 2
      );
  return { settings, weights, weight };
}

/** The weighted sum of the parents' changes of one module, in float64. */
function expectedDelta(layer: number, projection: ProjectionName): Float64Array {
  let sum: Float64Array | undefined;
  for (const parent of parents) {
    const delta = adapterDelta(architecture, parent, layer, projection);
    if (delta === undefined) continue;
    sum ??= new Float64Array(delta.length);
    for (let index = 0; index < delta.length; index += 1) sum[index] += parent.weight * delta[index];
  }
  return sum!;
}

const maxDifference = (left: ArrayLike<number>, right: ArrayLike<number>): number => {
  let worst = 0;
  for (let index = 0; index < left.length; index += 1)
    worst = Math.max(worst, Math.abs(left[index] - right[index]));
  return worst;
};

beforeAll(async () => {
  architecture = (await loadPreset('nano')).architecture;
  parents = [
    randomAdapter({ rank: 2, alpha: 8, dropout: 0, targets: ['q_proj', 'down_proj'] }, 1, 0.7),
    randomAdapter({ rank: 3, alpha: 3, dropout: 0, targets: ['q_proj', 'up_proj'] }, 2, -0.4),
  ];
});

describe('adapter combinations', () => {
  it('cat: rank Σ r_i, scale 1, every module changed by the weighted sum (a missing module counts 0)', () => {
    const combined = concatenateAdapters(architecture, parents);
    expect(combined.settings).toEqual({
      rank: 5,
      alpha: 5,
      dropout: 0,
      targets: ['q_proj', 'up_proj', 'down_proj'],
    });
    for (const projection of ['q_proj', 'up_proj', 'down_proj'] as const)
      for (const layer of [0, 1]) {
        const got = adapterDelta(architecture, combined, layer, projection)!;
        expect(maxDifference(got, expectedDelta(layer, projection)), `${projection} ${layer}`).toBeLessThan(
          1e-6,
        );
      }
  });

  it('svd at rank ≥ Σ r_i is the same change; at rank 2 it is the best rank-2 approximation', () => {
    const full = svdCombination(architecture, parents, 6);
    expect(full.settings).toMatchObject({ rank: 6, alpha: 6 });
    const truncated = svdCombination(architecture, parents, 2);
    for (const projection of ['q_proj', 'up_proj'] as const)
      for (const layer of [0, 1]) {
        const expected = expectedDelta(layer, projection);
        expect(maxDifference(adapterDelta(architecture, full, layer, projection)!, expected)).toBeLessThan(
          1e-5,
        );
        // The dense change's own SVD, truncated to 2: U_2 Σ_2 V_2ᵀ.
        const [out, input] =
          projection === 'q_proj'
            ? [architecture.hiddenSize, architecture.hiddenSize]
            : [architecture.intermediateSize, architecture.hiddenSize];
        const dense = new Matrix(out, input);
        for (let row = 0; row < out; row += 1)
          for (let column = 0; column < input; column += 1)
            dense.set(row, column, expected[row * input + column]);
        const svd = new SingularValueDecomposition(dense);
        const best = svd.leftSingularVectors
          .subMatrix(0, out - 1, 0, 1)
          .mmul(Matrix.diag(svd.diagonal.slice(0, 2)))
          .mmul(svd.rightSingularVectors.subMatrix(0, input - 1, 0, 1).transpose());
        const got = adapterDelta(architecture, truncated, layer, projection)!;
        expect(maxDifference(got, best.to1DArray()), `${projection} ${layer}`).toBeLessThan(1e-5);
        expect(svd.diagonal[2]).toBeGreaterThan(1e-3); // rank 2 does drop something here
        expect(maxDifference(got, expected)).toBeGreaterThan(1e-4);
      }
  });

  it('svd of an all-zero sum is zero, not NaN', () => {
    const zero = svdCombination(
      architecture,
      parents.map((parent) => ({ ...parent, weight: 0 })),
      2,
    );
    for (const values of zero.weights.values())
      expect(values.every((value) => Number.isFinite(value))).toBe(true);
    const delta = adapterDelta(architecture, zero, 0, 'q_proj')!;
    expect(Math.max(...delta.map(Math.abs))).toBe(0);
  });
});
