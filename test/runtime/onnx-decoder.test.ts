import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/runtime/generation/generate.js';
import { OnnxDecoderModel } from '../../src/runtime/onnx/onnx-decoder.js';
import { validateDecoderFeeds } from '../../src/runtime/onnx/decoder-signature.js';
import { makeNanoBrick, nanoPrompts, type BrickFixture } from '../export/brick-fixture.js';

let fixture: BrickFixture;
let model: OnnxDecoderModel;

beforeAll(async () => {
  fixture = await makeNanoBrick('solver');
  model = await OnnxDecoderModel.load(fixture.brickDirectory);
});

afterAll(async () => model?.close());

const prompts = nanoPrompts;

describe('OnnxDecoderModel', () => {
  it('reads layers, heads and end-of-sequence ids from the Hugging Face files', () => {
    expect(model.config).toMatchObject({
      modelType: 'llama',
      layers: 2,
      keyValueHeads: 2,
      headDimension: 16,
      vocabSize: 512,
    });
    expect(model.eosTokenIds).toEqual([1, 6]);
  });

  it('batched, left-padded greedy generation equals generating each prompt alone', async () => {
    const options = { maxNewTokens: 10, eosTokenIds: [] as number[] };
    const batched = await generate(model, prompts, options);
    for (const [index, prompt] of prompts.entries()) {
      const [alone] = await generate(model, [prompt], options);
      expect(batched[index].tokens).toEqual(alone.tokens);
      expect(alone.tokens).toHaveLength(10);
    }
    expect(new Set(batched.map((result) => result.tokens.join(','))).size).toBeGreaterThan(1);
  });

  it('rejects feeds whose cache does not match the model, naming the tensor', () => {
    const signature = model['signature'];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', new BigInt64Array(2), [1, 2]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(2), [1, 2]),
      position_ids: new ort.Tensor('int64', new BigInt64Array(2), [1, 2]),
    };
    for (const entry of signature.cache)
      feeds[entry.input] = new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 16]);
    expect(() => validateDecoderFeeds(feeds, signature, model.config)).not.toThrow();
    feeds['past_key_values.1.value'] = new ort.Tensor('float32', new Float32Array(0), [1, 4, 0, 16]);
    expect(() => validateDecoderFeeds(feeds, signature, model.config)).toThrow(
      /'past_key_values\.1\.value' is float32\[1, 4, 0, 16\], expected float32\[1, 2, 0, 16\]/,
    );
  });
});
