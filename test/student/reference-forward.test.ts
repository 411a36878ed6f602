import { describe, expect, it } from 'vitest';
import { countParameters, type StudentArchitecture } from '../../src/student/config.js';
import { initializeWeights, studentWeightShapes } from '../../src/student/initialize.js';
import { applyRotary, referenceForward } from '../../src/student/reference-forward.js';

const config: StudentArchitecture = {
  vocabSize: 50,
  hiddenSize: 16,
  intermediateSize: 40,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  maxPositionEmbeddings: 32,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  initializerRange: 0.3, // large enough that every block visibly changes the logits
  tieWordEmbeddings: true,
};
const tokens = [3, 17, 42, 0, 8, 8, 25, 49, 11];

function row(logits: Float32Array, position: number, vocabSize = config.vocabSize): number[] {
  return [...logits.subarray(position * vocabSize, (position + 1) * vocabSize)];
}

describe('initializeWeights', () => {
  it('creates every Hugging Face Llama tensor, seeded and deterministic', () => {
    const weights = initializeWeights(config, 7);
    expect([...weights.keys()]).toEqual([...studentWeightShapes(config).keys()]);
    expect([...weights.values()].reduce((total, tensor) => total + tensor.length, 0)).toBe(
      countParameters(config),
    );
    expect(weights.get('model.layers.1.self_attn.k_proj.weight')).toHaveLength(8 * 16);
    expect(initializeWeights(config, 7)).toEqual(weights);
    expect(initializeWeights(config, 8).get('model.embed_tokens.weight')).not.toEqual(
      weights.get('model.embed_tokens.weight'),
    );
    expect([...weights.get('model.norm.weight')!].every((value) => value === 1)).toBe(true);
  });

  it('draws matrices with the configured standard deviation, smaller for residual projections when asked', () => {
    const big = { ...config, hiddenSize: 64, intermediateSize: 256, initializerRange: 0.02 };
    const std = (values: Float32Array) =>
      Math.sqrt(values.reduce((sum, value) => sum + value * value, 0) / values.length);
    const plain = initializeWeights(big, 1);
    expect(std(plain.get('model.layers.0.mlp.up_proj.weight')!)).toBeCloseTo(0.02, 3);
    const scaled = initializeWeights(big, 1, { scaleResidualProjections: true });
    expect(std(scaled.get('model.layers.0.mlp.down_proj.weight')!)).toBeCloseTo(0.01, 3);
  });
});

describe('applyRotary', () => {
  it('rotates element j with element j + headSize/2 (Hugging Face rotate_half), at angle position · theta^(-2j/d)', () => {
    // Two positions, one head of size 4: position 0 is unchanged, position 1 rotates each pair.
    const x = new Float32Array([1, 2, 3, 4, 1, 1, 0, 0]);
    applyRotary(x, 2, 1, 4, 10000);
    expect([...x.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    const slow = 10000 ** (-2 / 4);
    const expected = [Math.cos(1), Math.cos(slow), Math.sin(1), Math.sin(slow)];
    expected.forEach((value, index) => expect(x[4 + index]).toBeCloseTo(value, 6));
  });
});

describe('referenceForward', () => {
  const weights = initializeWeights(config, 1);

  it('returns finite T × vocabSize logits, deterministically', () => {
    const logits = referenceForward(config, weights, tokens);
    expect(logits).toHaveLength(tokens.length * config.vocabSize);
    expect(logits.every(Number.isFinite)).toBe(true);
    expect(referenceForward(config, weights, tokens)).toEqual(logits);
  });

  it('is causal: changing a later token leaves earlier logits unchanged and changes later ones', () => {
    const original = referenceForward(config, weights, tokens);
    const changed = referenceForward(
      config,
      weights,
      tokens.map((id, position) => (position === 5 ? 30 : id)),
    );
    for (let position = 0; position < 5; position += 1)
      expect(row(changed, position)).toEqual(row(original, position));
    for (let position = 5; position < tokens.length; position += 1) {
      expect(row(changed, position)).not.toEqual(row(original, position));
    }
    const prefix = referenceForward(config, weights, tokens.slice(0, 4));
    expect([...prefix]).toEqual([...original.subarray(0, 4 * config.vocabSize)]);
  });

  it('uses positions: reordering earlier tokens changes the last logits (attention alone would not)', () => {
    const last = tokens.length - 1;
    const swapped = [tokens[1], tokens[0], ...tokens.slice(2)];
    const original = row(referenceForward(config, weights, tokens), last);
    const reordered = row(referenceForward(config, weights, swapped), last);
    expect(Math.max(...original.map((value, index) => Math.abs(value - reordered[index])))).toBeGreaterThan(
      1e-4,
    );
  });

  it('with zero output projections, passes embeddings through the final norm and the tied head', () => {
    const silent = new Map(weights);
    for (const name of silent.keys()) {
      if (name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight')) {
        silent.set(name, new Float32Array(silent.get(name)!.length));
      }
    }
    const embedding = weights.get('model.embed_tokens.weight')!;
    const logits = referenceForward(config, silent, [7]);
    const vector = embedding.subarray(7 * 16, 8 * 16);
    const scale =
      1 / Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0) / 16 + config.rmsNormEps);
    for (let token = 0; token < config.vocabSize; token += 1) {
      let expected = 0;
      for (let index = 0; index < 16; index += 1)
        expected += vector[index] * scale * embedding[token * 16 + index];
      expect(logits[token]).toBeCloseTo(expected, 4);
    }
  });

  it('grouped-query attention equals multi-head attention with each key/value head repeated', () => {
    const multiHead = { ...config, numKeyValueHeads: config.numAttentionHeads };
    const repeated = new Map(weights);
    const headSize = 4;
    const group = config.numAttentionHeads / config.numKeyValueHeads;
    for (let layer = 0; layer < config.numHiddenLayers; layer += 1) {
      for (const projection of ['k_proj', 'v_proj']) {
        const name = `model.layers.${layer}.self_attn.${projection}.weight`;
        const source = weights.get(name)!;
        const target = new Float32Array(config.numAttentionHeads * headSize * 16);
        for (let head = 0; head < config.numAttentionHeads; head += 1) {
          const keyValueHead = Math.floor(head / group);
          const rows = source.subarray(keyValueHead * headSize * 16, (keyValueHead + 1) * headSize * 16);
          target.set(rows, head * headSize * 16);
        }
        repeated.set(name, target);
      }
    }
    const grouped = referenceForward(config, weights, tokens);
    const full = referenceForward(multiHead, repeated, tokens);
    for (let index = 0; index < grouped.length; index += 1)
      expect(full[index]).toBeCloseTo(grouped[index], 5);
  });

  it('names a missing or mis-sized weight and rejects ids outside the vocabulary', () => {
    const missing = new Map(weights);
    missing.delete('model.layers.1.mlp.up_proj.weight');
    expect(() => referenceForward(config, missing, tokens)).toThrow(
      /model\.layers\.1\.mlp\.up_proj\.weight: expected 640/,
    );
    expect(() => referenceForward(config, weights, [1, 50])).toThrow(/token id 50 is outside 0\.\.49/);
  });
});
