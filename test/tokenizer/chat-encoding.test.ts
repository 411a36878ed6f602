import { describe, expect, it } from 'vitest';
import { trainBpe } from '../../src/tokenizer/bpe-trainer.js';
import { encodeChatForTraining } from '../../src/tokenizer/chat-encoding.js';
import { buildTokenizerConfig, buildTokenizerJson } from '../../src/tokenizer/tokenizer-files.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { randomTexts, sampleCorpus } from './random-text.js';

const tokenizer = Tokenizer.fromBpeModel(trainBpe(sampleCorpus(1000, 5), { vocabSize: 500 }), {
  modelMaxLength: 128,
});

describe('encodeChatForTraining', () => {
  it('masks exactly the assistant content and its end-of-turn token', () => {
    const messages = [
      { role: 'system' as const, content: 'Decompose.' },
      { role: 'user' as const, content: 'How many apples?' },
      { role: 'assistant' as const, content: 'Alice has 3 apples.' },
    ];
    const { inputIds, lossMask } = encodeChatForTraining(tokenizer, messages);
    expect(inputIds).toHaveLength(lossMask.length);
    const answer = tokenizer.encode('Alice has 3 apples.', { addSpecialTokens: false });
    const masked = inputIds.filter((_, index) => lossMask[index] === 1);
    expect(masked).toEqual([...answer, tokenizer.specialTokenIds.end]);
    const assistantMarker = inputIds.indexOf(tokenizer.specialTokenIds.assistant);
    expect(lossMask.slice(0, assistantMarker + 1).every((bit) => bit === 0)).toBe(true);
    expect(lossMask.slice(assistantMarker + 1).every((bit) => bit === 1)).toBe(true);
  });

  it('equals the token ids of the Jinja-rendered chat for multi-turn and awkward content', () => {
    const texts = randomTexts(120, 8);
    for (let index = 0; index + 3 < texts.length; index += 4) {
      const messages = [
        { role: 'system' as const, content: texts[index] },
        { role: 'user' as const, content: texts[index + 1] },
        { role: 'assistant' as const, content: texts[index + 2] },
        { role: 'user' as const, content: texts[index + 3] },
        { role: 'assistant' as const, content: ' trailing space ' },
      ];
      const { inputIds, lossMask } = encodeChatForTraining(tokenizer, messages);
      const rendered = tokenizer.applyChatTemplate(messages);
      expect(inputIds).toEqual(tokenizer.encode(rendered, { addSpecialTokens: false }));
      expect(tokenizer.decode(inputIds)).toBe(rendered);
      const endCount = inputIds.filter(
        (id, position) => id === tokenizer.specialTokenIds.end && lossMask[position],
      );
      expect(endCount.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('gives the same ids from its content cache, and the cache holds each content once', () => {
    const cache = new Map<string, number[]>();
    const system = { role: 'system' as const, content: 'Decompose the question.' };
    const examples = ['How many apples?', 'How many pears?'].map((question) => [
      system,
      { role: 'user' as const, content: question },
      { role: 'assistant' as const, content: `Count: ${question}` },
    ]);
    for (const messages of examples)
      expect(encodeChatForTraining(tokenizer, messages, { cache })).toEqual(
        encodeChatForTraining(tokenizer, messages),
      );
    expect(cache.size).toBe(5);
  });

  it('checks the chat template only when asked to verify', () => {
    const model = trainBpe(sampleCorpus(200, 3), { vocabSize: 300 });
    const config = buildTokenizerConfig(model, { modelMaxLength: 64 });
    const skewed = new Tokenizer(buildTokenizerJson(model), {
      ...config,
      chat_template: `{{ "Note: " }}${config.chat_template}`,
    });
    const messages = [{ role: 'user' as const, content: 'How many apples?' }];
    expect(() => encodeChatForTraining(skewed, messages)).toThrow(/does not render messages as dnc trains/);
    expect(encodeChatForTraining(skewed, messages, { verify: false }).inputIds).toHaveLength(
      skewed.encode('How many apples?', { addSpecialTokens: false }).length + 3,
    );
  });
});
