import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/engine/session.js';
import { type CheckedInput, type GradientCheckOptions, checkGradients } from './gradient-check.js';
import { type Value } from '../../src/engine/graph-core.js';
import { type Graph } from '../../src/engine/graph.js';

// float64 everywhere onnxruntime's CPU kernels support double: finite differences with h = 1e-6 agree to
// ~1e-8, so 1e-6 (relative to max(1, |gradient|)) is a tight bound.
const float64Tolerance = 1e-6;

interface Case {
  name: string;
  inputs: CheckedInput[];
  build: (graph: Graph, inputs: Value[]) => Value;
  extraFeeds?: GradientCheckOptions['extraFeeds'];
}

const p = (name: string, shape: number[]): CheckedInput => ({ name, shape, domain: 'positive' });
const s = (name: string, shape: number[]): CheckedInput => ({ name, shape });

const cases: Case[] = [
  {
    name: 'Add broadcasts a (4) and a (3, 1) into (2, 3, 4)',
    inputs: [s('a', [2, 3, 4]), s('b', [4]), s('c', [3, 1])],
    build: (g, [a, b, c]) => g.add(g.add(a, b), c),
  },
  {
    name: 'Sub broadcasts (3, 1) against (1, 4)',
    inputs: [s('a', [3, 1]), s('b', [1, 4])],
    build: (g, [a, b]) => g.sub(a, b),
  },
  {
    name: 'Mul with a value used twice',
    inputs: [s('a', [2, 3]), s('b', [3])],
    build: (g, [a, b]) => g.add(g.mul(a, a), g.mul(a, b)),
  },
  {
    name: 'Div broadcasting the divisor',
    inputs: [s('a', [2, 3]), p('b', [3])],
    build: (g, [a, b]) => g.div(a, b),
  },
  {
    name: 'Pow in base and exponent',
    inputs: [p('a', [2, 3]), s('b', [3])],
    build: (g, [a, b]) => g.pow(a, b),
  },
  { name: 'Pow with a constant exponent', inputs: [p('a', [4])], build: (g, [a]) => g.pow(a, 2) },
  {
    name: 'Pow with a constant fractional exponent',
    inputs: [p('a', [4])],
    build: (g, [a]) => g.pow(a, -1.5),
  },
  {
    name: 'Max (elementwise, broadcast)',
    inputs: [s('a', [2, 3]), s('b', [3])],
    build: (g, [a, b]) => g.max(a, b),
  },
  { name: 'Neg', inputs: [s('a', [5])], build: (g, [a]) => g.neg(a) },
  { name: 'Sqrt', inputs: [p('a', [5])], build: (g, [a]) => g.sqrt(a) },
  { name: 'Reciprocal', inputs: [p('a', [5])], build: (g, [a]) => g.reciprocal(a) },
  { name: 'Exp', inputs: [s('a', [5])], build: (g, [a]) => g.exp(a) },
  { name: 'Log', inputs: [p('a', [5])], build: (g, [a]) => g.log(a) },
  { name: 'Sigmoid', inputs: [s('a', [2, 3])], build: (g, [a]) => g.sigmoid(a) },
  { name: 'Tanh', inputs: [s('a', [2, 3])], build: (g, [a]) => g.tanh(a) },
  { name: 'Relu', inputs: [s('a', [2, 3])], build: (g, [a]) => g.relu(a) },
  {
    name: 'Sum of three broadcast values',
    inputs: [s('a', [2, 3]), s('b', [3]), s('c', [2, 1])],
    build: (g, [a, b, c]) => g.sum([a, b, c]),
  },
  { name: 'MatMul 2-D', inputs: [s('a', [3, 4]), s('b', [4, 5])], build: (g, [a, b]) => g.matmul(a, b) },
  {
    name: 'MatMul 3-D by 2-D (batch folded into rows)',
    inputs: [s('a', [2, 3, 4]), s('b', [4, 5])],
    build: (g, [a, b]) => g.matmul(a, b),
  },
  {
    name: 'MatMul with broadcast batch axes',
    inputs: [s('a', [2, 1, 3, 4]), s('b', [3, 4, 2])],
    build: (g, [a, b]) => g.matmul(a, b),
  },
  {
    name: 'MatMul of a value with itself transposed',
    inputs: [s('a', [3, 4])],
    build: (g, [a]) => g.matmul(a, g.transpose(a, [1, 0])),
  },
  ...[false, true].flatMap((transposeA) =>
    [false, true].map((transposeB) => ({
      name: `Gemm transA=${transposeA} transB=${transposeB} with alpha, beta and a broadcast bias`,
      inputs: [s('a', transposeA ? [4, 3] : [3, 4]), s('b', transposeB ? [5, 4] : [4, 5]), s('c', [5])],
      build: (g: Graph, [a, b, c]: Value[]) =>
        g.gemm(a, b, c, { transposeA, transposeB, alpha: 0.7, beta: 1.3 }),
    })),
  ),
  { name: 'Softmax on the last axis', inputs: [s('a', [2, 5])], build: (g, [a]) => g.softmax(a, -1) },
  { name: 'Softmax on a middle axis', inputs: [s('a', [2, 3, 4])], build: (g, [a]) => g.softmax(a, 1) },
  { name: 'LogSoftmax', inputs: [s('a', [3, 4])], build: (g, [a]) => g.logSoftmax(a, -1) },
  {
    name: 'ReduceSum without keepdims',
    inputs: [s('a', [2, 3, 4])],
    build: (g, [a]) => g.reduceSum(a, [0, 2]),
  },
  {
    name: 'ReduceSum with keepdims',
    inputs: [s('a', [2, 3, 4])],
    build: (g, [a]) => g.reduceSum(a, [1], true),
  },
  { name: 'ReduceMean', inputs: [s('a', [2, 3, 4])], build: (g, [a]) => g.reduceMean(a, [-1], true) },
  { name: 'Reshape', inputs: [s('a', [2, 3, 4])], build: (g, [a]) => g.reshape(a, [-1, 4]) },
  { name: 'Transpose', inputs: [s('a', [2, 3, 4])], build: (g, [a]) => g.transpose(a, [2, 0, 1]) },
  { name: 'Concat', inputs: [s('a', [2, 3]), s('b', [2, 2])], build: (g, [a, b]) => g.concat([a, b, a], 1) },
  { name: 'Slice', inputs: [s('a', [3, 6])], build: (g, [a]) => g.slice(a, [1, 2], [3, -1], [0, 1]) },
  {
    name: 'Split with one output unused',
    inputs: [s('a', [2, 6])],
    build: (g, [a]) => g.split(a, [2, 4], 1)[1],
  },
  {
    name: 'Split with both halves used (rotary style)',
    inputs: [s('a', [2, 6])],
    build: (g, [a]) => {
      const [first, second] = g.split(a, [3, 3], 1);
      return g.concat([g.neg(second), first], 1);
    },
  },
  { name: 'Expand', inputs: [s('a', [3, 1])], build: (g, [a]) => g.expand(a, [2, 3, 4]) },
  {
    name: 'Unsqueeze and Squeeze',
    inputs: [s('a', [3, 4])],
    build: (g, [a]) => g.squeeze(g.mul(g.unsqueeze(a, [0, 2]), 2), [0]),
  },
  { name: 'Trilu (causal masking)', inputs: [s('a', [2, 4, 4])], build: (g, [a]) => g.trilu(a, false) },
  { name: 'Identity', inputs: [s('a', [3])], build: (g, [a]) => g.identity(a) },
  {
    name: 'Gather with repeated indices (embedding lookup)',
    inputs: [s('table', [5, 3])],
    build: (g, [table]) => g.gather(table, g.input('ids', 'int64', [2, 3]), 0),
    extraFeeds: { ids: tensor('int64', BigInt64Array.from([0n, 2n, 2n, 4n, 0n, 2n]), [2, 3]) },
  },
  {
    name: 'Where with a broadcast condition',
    inputs: [s('a', [2, 3]), s('b', [3])],
    build: (g, [a, b]) => g.where(g.input('condition', 'bool', [2, 3]), a, b),
    extraFeeds: { condition: tensor('bool', Uint8Array.from([1, 0, 1, 0, 0, 1]), [2, 3]) },
  },
  {
    name: 'masked softmax cross-entropy (fused SoftmaxCrossEntropyLoss rule)',
    inputs: [s('logits', [4, 5])],
    build: (g, [logits]) =>
      g.maskedCrossEntropy(logits, g.input('targets', 'int64', [4]), g.input('mask', 'float64', [4])),
    extraFeeds: {
      targets: tensor('int64', BigInt64Array.from([1n, 4n, 0n, 1n]), [4]),
      mask: tensor('float64', Float64Array.from([1, 1, 0, 1]), [4]),
    },
  },
  {
    name: 'log-probabilities output of the fused cross-entropy',
    inputs: [s('logits', [3, 4])],
    build: (g, [logits]) => {
      const { loss, logProbabilities } = g.softmaxCrossEntropy(logits, g.input('targets', 'int64', [3]));
      return g.add(g.unsqueeze(loss, [1]), g.mul(logProbabilities, 0.3));
    },
    extraFeeds: { targets: tensor('int64', BigInt64Array.from([3n, 0n, 2n]), [3]) },
  },
];

describe('gradient rules match central finite differences', () => {
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const result = await checkGradients({ ...testCase });
      expect(result.maxRelativeError).toBeLessThan(float64Tolerance);
    });
  }
});

// Cast changes precision, so it is checked in float32: h = 1e-2 on a quadratic, where central differences
// are exact up to float32 rounding (~1e-5 here); 1e-3 is the stated tolerance.
it('Cast gradient (float32 → float64 → float32) matches finite differences within 1e-3', async () => {
  const result = await checkGradients({
    dataType: 'float32',
    inputs: [s('a', [2, 3])],
    build: (g, [a]) => {
      const wide = g.cast(a, 'float64');
      return g.cast(g.mul(wide, wide), 'float32');
    },
  });
  expect(result.maxRelativeError).toBeLessThan(1e-3);
});

it('finite-difference checks see non-trivial gradients (the comparison is not vacuous)', async () => {
  const result = await checkGradients({
    inputs: [s('a', [3, 4]), s('b', [4, 2])],
    build: (g, [a, b]) => g.matmul(a, b),
  });
  const norm = result.analytic.flatMap((gradient) => Array.from(gradient)).reduce((sum, x) => sum + x * x, 0);
  expect(norm).toBeGreaterThan(0.1);
});
