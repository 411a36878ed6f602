import { basename, dirname } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxBrick } from '../../src/runtime/bricks/onnx-brick.js';
import { makeNanoBrick, type BrickFixture } from './brick-fixture.js';

let fixture: BrickFixture;
let brick: OnnxBrick;

beforeAll(async () => {
  fixture = await makeNanoBrick('solver');
  brick = await OnnxBrick.load(fixture.brickDirectory, fixture.brickDirectory);
});

afterAll(async () => brick?.close());

const prompts = [
  'Alice has 3 apples and buys 4 more. How many apples does she have?',
  'Who founded the company where Bob works?',
  'Is the capital of Norland bigger than 12,000 people?',
  'hi',
];

describe('an exported brick in @huggingface/transformers', () => {
  it('loads with local files only and gives the same greedy tokens as dnc for several prompts', async () => {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(fixture.brickDirectory);
    const model = await AutoModelForCausalLM.from_pretrained(basename(fixture.brickDirectory), {
      dtype: 'fp32',
      local_files_only: true,
    });
    const maxNewTokens = 12;
    const seen = new Set<string>();
    for (const content of prompts) {
      const ours = await brick.complete([{ role: 'user', content }], { maxNewTokens });
      const ids = brick.tokenizer.encode(
        brick.tokenizer.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true }),
        { addSpecialTokens: false },
      );
      const inputIds = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
      const attentionMask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
      const output = (await model.generate({
        input_ids: inputIds,
        attention_mask: attentionMask,
        max_new_tokens: maxNewTokens,
        do_sample: false,
      })) as Tensor;
      const theirs = Array.from(output.data as BigInt64Array, Number).slice(ids.length);
      // transformers.js keeps the end-of-turn token that stopped it; dnc reports it separately.
      const { eos, end } = brick.tokenizer.specialTokenIds;
      const last = theirs.at(-1);
      const trimmed = last === eos || last === end ? theirs.slice(0, -1) : theirs;
      expect(ours.tokens).toEqual(trimmed);
      expect(ours.tokens.length).toBeGreaterThan(0);
      seen.add(ours.tokens.join(','));
    }
    expect(seen.size).toBeGreaterThan(1);
    await model.dispose();
  });
});
