import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/graph.js';
import { appendAdamW, defaultAdamW, optimizerNames } from '../../src/engine/optimizer.js';
import { serializeGraph } from '../../src/engine/serialize.js';
import { EngineSession, type Feeds, tensor } from '../../src/engine/session.js';
import { seededRandom } from './gradient-check.js';

const options = { ...defaultAdamW, weightDecay: 0.3, maxGradientNorm: 0.5 };

/** Plain AdamW on arrays, as in Loshchilov & Hutter: the reference the graph must match. */
function referenceAdamW(
  states: { p: number[]; g: number[]; m: number[]; v: number[]; decay: boolean }[],
  learningRate: number,
  step: number,
) {
  const norm = Math.sqrt(states.flatMap((state) => state.g).reduce((sum, x) => sum + x * x, 0));
  const clip = Math.min(1, options.maxGradientNorm / norm);
  return {
    norm,
    updated: states.map(({ p, g, m, v, decay }) =>
      p.map((value, index) => {
        const gradient = g[index] * clip;
        const nextM = options.beta1 * m[index] + (1 - options.beta1) * gradient;
        const nextV = options.beta2 * v[index] + (1 - options.beta2) * gradient * gradient;
        const mHat = nextM / (1 - options.beta1 ** step);
        const vHat = nextV / (1 - options.beta2 ** step);
        const direction =
          mHat / (Math.sqrt(vHat) + options.epsilon) + (decay ? options.weightDecay * value : 0);
        return value - learningRate * direction;
      }),
    ),
  };
}

describe('AdamW graph', () => {
  it('matches a plain AdamW reference with clipping, bias correction and a weight-decay opt-out', async () => {
    const g = new Graph('adamw');
    const specs = [
      { name: 'weight', decay: true },
      { name: 'norm', decay: false },
    ];
    const parameters = specs.map((spec) => ({
      ...spec,
      value: g.input(spec.name, 'float32', [5]),
      gradient: g.input(`gradient.${spec.name}`, 'float32', [5]),
    }));
    const update = appendAdamW(g, parameters, options);
    update.parameters.forEach((value, index) => g.output(value, `updated.${specs[index].name}`));
    g.output(update.gradientNorm, 'norm_out');
    const session = await EngineSession.create(serializeGraph(g));

    const random = seededRandom(3);
    const draw = (positive = false) =>
      Array.from({ length: 5 }, () => (positive ? random() : random() * 2 - 1));
    const states = specs.map((spec) => ({
      p: draw(),
      g: draw(),
      m: draw(),
      v: draw(true),
      decay: spec.decay,
    }));
    const feeds: Feeds = {
      [optimizerNames.learningRate]: tensor('float32', Float32Array.of(0.1), []),
      [optimizerNames.step]: tensor('float32', Float32Array.of(3), []),
    };
    specs.forEach((spec, index) => {
      feeds[spec.name] = tensor('float32', Float32Array.from(states[index].p), [5]);
      feeds[`gradient.${spec.name}`] = tensor('float32', Float32Array.from(states[index].g), [5]);
      feeds[optimizerNames.firstMoment(spec.name)] = tensor(
        'float32',
        Float32Array.from(states[index].m),
        [5],
      );
      feeds[optimizerNames.secondMoment(spec.name)] = tensor(
        'float32',
        Float32Array.from(states[index].v),
        [5],
      );
    });
    const out = await session.run(feeds);
    const reference = referenceAdamW(states, 0.1, 3);
    expect(reference.norm).toBeGreaterThan(options.maxGradientNorm); // clipping is active
    expect(Number(out.norm_out.data[0])).toBeCloseTo(reference.norm, 5);
    specs.forEach((spec, index) => {
      const actual = out[`updated.${spec.name}`].data as Float32Array;
      reference.updated[index].forEach((value, element) => expect(actual[element]).toBeCloseTo(value, 5));
    });
  });
});
