/**
 * Every combination of onnx / reference / openai bricks runs in every chain mode: the chain
 * finishes with a trace (a wrong answer from an untrained onnx brick is fine, a crash is not),
 * and a chain of good bricks (reference, openai on the fake server) answers correctly. `dnc ask`
 * is a thin shell over `runChain`, so this is the matrix `dnc ask` offers; one CLI run checks
 * the onnx path end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreAnswer } from '../../src/data/metrics/index.js';
import type { Chain, ChainMode } from '../../src/data/schemas.js';
import type { Brick } from '../../src/runtime/bricks/brick.js';
import { loadBrick } from '../../src/runtime/bricks/registry.js';
import { runChain } from '../../src/runtime/chain.js';
import { generateExamples } from '../../src/worlds/index.js';
import { makeNanoBrick } from '../export/brick-fixture.js';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { expertChatAnswer } from './expert-chat-answer.js';

type Kind = 'onnx' | 'reference' | 'openai';
const kinds: Kind[] = ['onnx', 'reference', 'openai'];
const modes: ChainMode[] = ['single', 'static', 'dynamic'];

let server: FakeOpenAIServer;
const decomposers = new Map<Kind, Brick>();
const solvers = new Map<Kind, Brick>();
let onnxDecomposerDirectory = '';
const env = (): NodeJS.ProcessEnv => ({ OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'test' });

beforeAll(async () => {
  server = await startFakeOpenAIServer({ answer: expertChatAnswer() });
  const [decomposer, solver] = await Promise.all([makeNanoBrick('decomposer'), makeNanoBrick('solver')]);
  onnxDecomposerDirectory = decomposer.brickDirectory;
  const load = (spec: string) => loadBrick(spec, { env: env() });
  for (const kind of ['reference', 'openai'] as const) {
    const spec = kind === 'openai' ? 'openai:gpt-4o-mini' : 'reference';
    decomposers.set(kind, await load(spec));
    solvers.set(kind, await load(spec));
  }
  decomposers.set('onnx', await load(decomposer.brickDirectory));
  solvers.set('onnx', await load(solver.brickDirectory));
}, 120_000);

afterAll(async () => {
  await Promise.all([...decomposers.values(), ...solvers.values()].map((brick) => brick.close?.()));
  await server.close();
});

const example = generateExamples({ world: 'hops', n: 6, seed: 31, split: 'test' }).find(
  (candidate) => (candidate.gold?.subquestions.length ?? 0) >= 2,
)!;

const combinations = kinds.flatMap((decomposer) =>
  kinds.flatMap((solver) => modes.map((mode) => ({ decomposer, solver, mode }))),
);

describe('every brick combination in every mode', () => {
  it.each(combinations)(
    '$decomposer → $solver ($mode) runs to a trace',
    async ({ decomposer, solver, mode }) => {
      const chain: Chain = {
        name: `${decomposer}/${solver}`,
        ...(mode === 'single' ? {} : { decomposer }),
        solver,
        mode,
        maxSubquestions: 4,
      };
      const trace = await runChain(
        chain,
        {
          decomposer: mode === 'single' ? undefined : decomposers.get(decomposer),
          solver: solvers.get(solver)!,
        },
        { question: example.question },
      );
      expect(trace.failure, trace.error).not.toBe('error');
      expect(trace.steps.length).toBeGreaterThan(0);
      expect(trace.cost.total.inputTokens).toBeGreaterThan(0);
      const good = decomposer !== 'onnx' && solver !== 'onnx' && mode !== 'single';
      if (good) expect(scoreAnswer(trace.answer ?? '', example).correct, trace.answer).toBe(true);
    },
  );

  it('dnc ask runs an onnx decomposer brick in front of the reference solver', async () => {
    const result = await runCli([
      'ask',
      '--decomposer',
      onnxDecomposerDirectory,
      '--solver',
      'reference',
      '--json',
      example.question,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as { decomposer: string; steps: unknown[] };
    expect(output.decomposer).toBe(onnxDecomposerDirectory);
    expect(output.steps.length).toBeGreaterThan(0);
  });
});
