/**
 * Rotary position embeddings on the graph builder, in the Hugging Face Llama "rotate_half"
 * convention: within each head, element j of the first half pairs with element j of the second
 * half, rotated by the angle position · theta^(-2j / headDimension).
 *
 *   rope(x) = x · cos + rotate_half(x) · sin,   rotate_half([x1, x2]) = [−x2, x1]
 *
 * cos and sin have shape (B | 1, S, 1, hd) so they broadcast over the heads of (B, S, heads, hd).
 */
import { type Value } from '../engine/graph-core.js';
import { type Graph } from '../engine/graph.js';
import { headDimension, type Llama3RopeScaling, type StudentArchitecture } from './config.js';

export interface RotaryTables {
  cos: Value; // (B | 1, S, 1, hd)
  sin: Value; // (B | 1, S, 1, hd)
}

/**
 * The inverse frequencies theta^(-2j / hd) for j = 0 .. hd/2 − 1 (float64), rescaled as Hugging
 * Face `_compute_llama3_parameters` does when the model has Llama 3 rope scaling: wavelengths
 * longer than original/lowFreqFactor are divided by `factor`, shorter than original/highFreqFactor
 * kept, and those between interpolated smoothly.
 */
export function inverseFrequencies(
  headDimension: number,
  theta: number,
  scaling?: Llama3RopeScaling,
): Float64Array {
  const half = headDimension / 2;
  const values = new Float64Array(half);
  for (let j = 0; j < half; j += 1) values[j] = 1 / theta ** ((2 * j) / headDimension);
  if (scaling === undefined) return values;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: original } = scaling;
  const lowFrequencyWavelength = original / lowFreqFactor;
  const highFrequencyWavelength = original / highFreqFactor;
  for (let j = 0; j < half; j += 1) {
    const wavelength = (2 * Math.PI) / values[j];
    if (wavelength > lowFrequencyWavelength) values[j] /= factor;
    else if (wavelength >= highFrequencyWavelength) {
      const smooth = (original / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      values[j] = ((1 - smooth) * values[j]) / factor + smooth * values[j];
    }
  }
  return values;
}

/** The inverse frequencies of an architecture (its head size, theta and rope scaling). */
export function architectureInverseFrequencies(architecture: StudentArchitecture): Float64Array {
  return inverseFrequencies(headDimension(architecture), architecture.ropeTheta, architecture.ropeScaling);
}

/**
 * Constant tables for positions 0 .. length − 1 (training without position ids): the angles are
 * computed in float64 and rounded once, so no Cos/Sin runs per step.
 */
export function constantRotaryTables(g: Graph, length: number, frequencies: Float64Array): RotaryTables {
  const half = frequencies.length;
  const headDimension = 2 * half;
  const cos = new Float32Array(length * headDimension);
  const sin = new Float32Array(length * headDimension);
  for (let position = 0; position < length; position += 1) {
    for (let j = 0; j < half; j += 1) {
      const angle = position * frequencies[j];
      for (const offset of [j, j + half]) {
        cos[position * headDimension + offset] = Math.cos(angle);
        sin[position * headDimension + offset] = Math.sin(angle);
      }
    }
  }
  return {
    cos: g.constant('float32', [1, length, 1, headDimension], cos), // (1, S, 1, hd)
    sin: g.constant('float32', [1, length, 1, headDimension], sin), // (1, S, 1, hd)
  };
}

/** Tables computed in the graph from int64 position ids (B, S): what an exported decoder needs. */
export function rotaryTablesFromPositions(
  g: Graph,
  positionIds: Value,
  frequencies: Float64Array,
): RotaryTables {
  const half = frequencies.length;
  const frequencyTable = g.constant('float32', [half], Float32Array.from(frequencies)); // (hd/2)
  const positions = g.unsqueeze(g.cast(positionIds, 'float32'), [2]); // (B, S, 1)
  const angles = g.mul(positions, frequencyTable); // (B, S, hd/2)
  const doubled = g.unsqueeze(g.concat([angles, angles], -1), [2]); // (B, S, 1, hd)
  // Cos and Sin have no gradient rule; they never need one (positions are not parameters).
  const [cos] = g.addNode('Cos', [doubled], [{ dataType: 'float32', shape: doubled.shape }]); // (B, S, 1, hd)
  const [sin] = g.addNode('Sin', [doubled], [{ dataType: 'float32', shape: doubled.shape }]); // (B, S, 1, hd)
  return { cos, sin };
}

/** The signed permutation R (hd, hd) with x · R = rotate_half(x) = [−x2, x1]. */
function rotateHalfMatrix(headDimension: number): Float32Array {
  const half = headDimension / 2;
  const matrix = new Float32Array(headDimension * headDimension);
  for (let j = 0; j < half; j += 1) {
    matrix[(j + half) * headDimension + j] = -1; // output j takes −x[j + half]
    matrix[j * headDimension + j + half] = 1; // output j + half takes x[j]
  }
  return matrix;
}

/**
 * Applies the rotation to x (B, S, heads, hd). rotate_half is one small MatMul with a constant
 * signed permutation instead of Split + Neg + Concat: fewer ops per decode step, same numbers.
 */
export function applyRotary(g: Graph, x: Value, tables: RotaryTables): Value {
  const headDimension = x.shape[x.shape.length - 1] as number;
  const rotation = g.constant('float32', [headDimension, headDimension], rotateHalfMatrix(headDimension)); // (hd, hd)
  const rotated = g.matmul(x, rotation); // (B, S, heads, hd)
  return g.add(g.mul(x, tables.cos), g.mul(rotated, tables.sin)); // (B, S, heads, hd)
}
