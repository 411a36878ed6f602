import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBrick } from '../../src/runtime/bricks/registry.js';
import type { Brick } from '../../src/runtime/bricks/brick.js';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { renderDecomposePrompt, renderNextSubquestionPrompt } from '../../src/prompts/index.js';
import { runChain } from '../../src/runtime/chain.js';
import { runCli } from '../helpers/cli.js';
import { makeNanoBrick, type BrickFixture } from '../export/brick-fixture.js';

let fixture: BrickFixture;
let decomposer: Brick;
let solver: Brick;

beforeAll(async () => {
  fixture = await makeNanoBrick('decomposer');
  decomposer = await loadBrick(fixture.brickDirectory, { usdPerCpuHour: 36 });
  solver = await loadBrick('reference');
});

afterAll(async () => decomposer?.close?.());

const question = 'How many apples does Alice have if she buys 3 and then 4 more?';

describe('the onnx brick', () => {
  it('is a decomposer only, as its brick.json says', () => {
    expect(decomposer).toBeInstanceOf(OnnxBrick);
    expect(decomposer.role).toBe('decomposer');
    expect(decomposer.decompose).toBeDefined();
    expect(decomposer.nextSubquestion).toBeDefined();
    expect(decomposer.solve).toBeUndefined();
  });

  it('reports tokens, FLOPs, CPU time and dollars at the configured $/CPU-hour', async () => {
    const result = await decomposer.decompose!({ question, maxSubquestions: 3 });
    expect(result.usage.inputTokens).toBeGreaterThan(20);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    const parameters = (decomposer as OnnxBrick).manifest.parameters;
    expect(result.flops).toBe(2 * parameters * (result.usage.inputTokens + result.usage.outputTokens));
    expect(result.cpuMs).toBeGreaterThan(0);
    expect(result.costUsd).toBeCloseTo((result.cpuMs! / 3_600_000) * 36, 12);
    expect(['subquestions', 'no-decomposition', 'failed']).toContain(result.kind);
  });

  it('samples more decompositions when the greedy one has a fault (a name left out), and reports what all cost', async () => {
    const named = { question: 'Are Kreniport and Karzom in the same country?', maxSubquestions: 3 };
    const greedyOnly = await OnnxBrick.load(fixture.brickDirectory, 'greedy', {
      decoding: { coverageSamples: 0 },
    });
    const sampling = await OnnxBrick.load(fixture.brickDirectory, 'sampling', {
      decoding: { coverageSamples: 3 },
    });
    try {
      const greedy = await greedyOnly.decompose!(named);
      const checked = await sampling.decompose!(named);
      // Random weights never write both names, so the samples were drawn (and paid for).
      expect(greedy.subquestions.join(' ')).not.toMatch(/Kreniport[\s\S]*Karzom|Karzom[\s\S]*Kreniport/);
      expect(checked.usage.inputTokens).toBe(4 * greedy.usage.inputTokens);
      expect(checked.usage.outputTokens).toBeGreaterThan(greedy.usage.outputTokens);
      expect(checked.warnings.join('\n')).toMatch(
        /the decomposition (leaves out Kreniport|leaves out Karzom|no numbered).*and so did all 3 samples/,
      );
      expect(await sampling.decompose!(named)).toMatchObject({ subquestions: checked.subquestions });
    } finally {
      await greedyOnly.close();
      await sampling.close();
    }
  });

  it('renders its prompts in the style its brick.json names: compact leaves out the system message', async () => {
    const loaded = decomposer as OnnxBrick;
    expect(loaded.manifest.promptFormat.style).toBe('instruct');
    // One call each (no coverage samples), so usage counts exactly one prompt.
    const once = { decoding: { coverageSamples: 0 } };
    const instruct = new OnnxBrick(
      fixture.brickDirectory,
      loaded.manifest,
      loaded.tokenizer,
      loaded.decoder,
      once,
    );
    const manifest = {
      ...loaded.manifest,
      promptFormat: { ...loaded.manifest.promptFormat, style: 'compact' as const },
    };
    const compact = new OnnxBrick(fixture.brickDirectory, manifest, loaded.tokenizer, loaded.decoder, once);
    const input = { question, maxSubquestions: 3 };
    const promptTokens = (style: 'instruct' | 'compact') =>
      instruct.tokenizer.encode(
        instruct.tokenizer.applyChatTemplate(renderDecomposePrompt(input, style), {
          addGenerationPrompt: true,
        }),
        { addSpecialTokens: false },
      ).length;
    for (const [brick, style] of [
      [instruct, 'instruct'],
      [compact, 'compact'],
    ] as const) {
      expect((await brick.decompose!(input)).usage.inputTokens).toBe(promptTokens(style));
      const next = await brick.nextSubquestion!({ ...input, previous: [] });
      expect(next.usage.inputTokens).toBe(
        instruct.tokenizer.encode(
          instruct.tokenizer.applyChatTemplate(
            renderNextSubquestionPrompt({ ...input, previous: [] }, style),
            {
              addGenerationPrompt: true,
            },
          ),
          { addSpecialTokens: false },
        ).length,
      );
    }
    expect(promptTokens('compact')).toBeLessThan(promptTokens('instruct') - 40);
  });

  it('runs in static and dynamic chains in front of the reference solver', async () => {
    for (const mode of ['static', 'dynamic'] as const) {
      const chain = {
        name: `student/ref-${mode}`,
        decomposer: fixture.brickDirectory,
        solver: 'reference',
        mode,
        maxSubquestions: 2,
      };
      const trace = await runChain(chain, { decomposer, solver }, { question });
      const decomposeSteps = trace.steps.filter((step) => step.stage === 'decompose');
      expect(decomposeSteps.length).toBeGreaterThan(0);
      expect(decomposeSteps.every((step) => step.kind === 'onnx' && (step.flops ?? 0) > 0)).toBe(true);
      expect(trace.cost.byStage.decompose.inputTokens).toBeGreaterThan(0);
      expect(trace.cost.byStage.decompose.flops).toBeGreaterThan(0);
      expect(trace.subquestions.length).toBeLessThanOrEqual(2);
    }
  });
});

describe('dnc generate', () => {
  it('prints the greedy completion through the chat template as JSON (text, tokens)', async () => {
    const prompt = 'Who is older, Dana or Eli?';
    const result = await runCli([
      'generate',
      '--brick',
      fixture.brickDirectory,
      '--max-tokens',
      '6',
      '--json',
      prompt,
    ]);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout);
    const expected = await (decomposer as OnnxBrick).complete([{ role: 'user', content: prompt }], {
      maxNewTokens: 6,
    });
    expect(printed.tokens).toEqual(expected.tokens);
    expect(printed.text).toBe(expected.text);
  });

  it('names a directory that is not a brick and says how to make one', async () => {
    const result = await runCli(['generate', '--brick', fixture.tokenizerDirectory, 'hello']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/brick\.json is missing.*dnc export/);
  });
});
