import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyNamesRecipe } from '../../src/decoding/copy-names/recipe.js';
import { exportBrick } from '../../src/export/export-brick.js';
import { OnnxDecoderModel } from '../../src/runtime/onnx/onnx-decoder.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { makeNanoBrick, type BrickFixture } from '../export/brick-fixture.js';

let fixture: BrickFixture;
/** The fixture's weights exported with the copy-names recipe on. */
let recipeBrick: string;

beforeAll(async () => {
  fixture = await makeNanoBrick('decomposer');
  recipeBrick = join(fixture.root, 'copy-names');
  await exportBrick({
    architecture: fixture.architecture,
    weights: fixture.weights,
    tokenizerDirectory: fixture.tokenizerDirectory,
    role: 'decomposer',
    lineage: { dataHash: null, teacher: null, training: {} },
    metrics: {},
    outDirectory: recipeBrick,
    decoding: { recipe: { id: 'copy-names', version: copyNamesRecipe.version } },
  });
}, 60_000);

/** Greedy decoding written out: the whole sequence through the model each step, the top score taken. */
async function plainGreedy(directory: string, prompt: string, maxNewTokens: number): Promise<number[]> {
  const tokenizer = await Tokenizer.load(directory);
  const model = await OnnxDecoderModel.load(directory);
  try {
    const tokens = tokenizer.encode(
      tokenizer.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true }),
      { addSpecialTokens: false },
    );
    const generated: number[] = [];
    while (generated.length < maxNewTokens) {
      const sequence = [...tokens, ...generated];
      const { logits } = await model.forward(
        {
          inputIds: BigInt64Array.from(sequence, BigInt),
          attentionMask: new BigInt64Array(sequence.length).fill(1n),
          positionIds: BigInt64Array.from(sequence.keys(), BigInt),
          batchSize: 1,
          length: sequence.length,
          pastLength: 0,
        },
        undefined,
      );
      const last = logits.subarray(logits.length - model.vocabSize);
      let best = 0;
      for (let token = 1; token < last.length; token += 1) if (last[token]! > last[best]!) best = token;
      generated.push(best);
      if (model.eosTokenIds.includes(best)) break;
    }
    return generated;
  } finally {
    await model.close();
  }
}

describe('dnc generate --decoding', () => {
  const prompt = 'Question: Is Dana older than Eli?';

  it('none (the default) is plain greedy decoding, with or without a recipe in the brick', async () => {
    const expected = await plainGreedy(recipeBrick, prompt, 8);
    const plain = await runCli(['generate', '--brick', recipeBrick, '--max-tokens', '8', '--json', prompt]);
    expect(plain.code).toBe(0);
    const printed = JSON.parse(plain.stdout);
    expect(printed.decoding).toBe('none');
    const tokenizer = await Tokenizer.load(recipeBrick);
    // The printed tokens leave out the end token the loop stops at.
    expect(printed.tokens).toEqual(expected.filter((token) => token !== tokenizer.endTokenId));
  }, 60_000);

  it("brick applies the brick's recipe and says so", async () => {
    const result = await runCli([
      'generate',
      '--brick',
      recipeBrick,
      '--decoding',
      'brick',
      '--max-tokens',
      '8',
      prompt,
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(`decoding: copy-names@${copyNamesRecipe.version}`);
    const wrong = await runCli(['generate', '--brick', recipeBrick, '--decoding', 'some', prompt]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/--decoding takes none or brick/);
  }, 60_000);
});

describe('dnc decoding check', () => {
  const system = { role: 'system', content: 'Break the question into sub-questions.' };
  const chat = (question: string, answer: string) =>
    JSON.stringify({
      messages: [
        system,
        { role: 'user', content: `Question: ${question}` },
        { role: 'assistant', content: answer },
      ],
    });

  it('teacher-forces each decomposition and reports the one the copy constraint rejects, and where', async () => {
    const data = join(fixture.root, 'decompositions.jsonl');
    await writeFile(
      data,
      [
        chat(
          'Is Kraihund Velmoor older than Tessaly Brun?',
          '1. How old is Kraihund Velmoor?\n2. How old is Tessaly Brun?',
        ),
        // The teacher wrote a name the question does not have: the copy constraint forbids it.
        chat(
          'Is Kraihund Velmoor older than Tessaly Brun?',
          '1. How old is Kraihund Velmoor?\n2. How old is Quorbastine Brun?',
        ),
      ].join('\n') + '\n',
    );
    const result = await runCli(['decoding', 'check', '--brick', recipeBrick, '--data', data, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      recipe: `copy-names@${copyNamesRecipe.version}`,
      decompositions: 2,
      rejected: 1,
    });
    expect(report.rejections).toHaveLength(1);
    expect(report.rejections[0]).toMatchObject({ record: 1 });
    expect(report.rejections[0].context).toMatch(/2\. How old is Q?\w*$/);
    expect('Quorbastine').toContain(report.rejections[0].token.trim());
    expect(report.processors['copy-constraint'].forbidden).toBeGreaterThan(0);
  }, 60_000);

  it('checks a recipe the brick does not run yet with --recipe, and refuses a brick without one', async () => {
    const data = join(fixture.root, 'sound.jsonl');
    await writeFile(data, chat('Is Dana older than Eli?', '1. How old is Dana?\n2. How old is Eli?') + '\n');
    const plain = await runCli(['decoding', 'check', '--brick', fixture.brickDirectory, '--data', data]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(
      /names no decoding recipe; check one before turning it on with --recipe copy-names/,
    );
    const checked = await runCli([
      'decoding',
      'check',
      '--brick',
      fixture.brickDirectory,
      '--data',
      data,
      '--recipe',
      'copy-names',
    ]);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/copy-names@\d+: 0 of 1 teacher decompositions rejected/);
  }, 60_000);
});
