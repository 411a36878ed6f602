import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainBpe } from '../../src/tokenizer/bpe-trainer.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { writeTokenizerFiles } from '../../src/tokenizer/tokenizer-files.js';
import { randomTexts, sampleCorpus } from './random-text.js';

const chat = [
  { role: 'system' as const, content: 'Answer briefly.' },
  { role: 'user' as const, content: 'Alice has 3 apples. How many?' },
  { role: 'assistant' as const, content: 'The answer is: 3' },
];

let directory: string;
let tokenizer: Tokenizer;

beforeAll(async () => {
  const model = trainBpe([...sampleCorpus(2000, 11), ...randomTexts(200, 12)], { vocabSize: 600 });
  directory = await mkdtemp(join(tmpdir(), 'dnc-tokenizer-'));
  await writeTokenizerFiles(directory, model, { modelMaxLength: 256 });
  tokenizer = await Tokenizer.load(directory);
});

describe('Tokenizer', () => {
  it('reports its vocabulary size and the fixed special token ids', () => {
    expect(tokenizer.vocabSize).toBe(600);
    expect(tokenizer.specialTokenIds).toEqual({
      bos: 0,
      eos: 1,
      pad: 2,
      system: 3,
      user: 4,
      assistant: 5,
      end: 6,
    });
    expect(tokenizer.modelMaxLength).toBe(256);
  });

  it('round-trips arbitrary Unicode: emoji, CJK, combining marks, whitespace runs, newlines', () => {
    for (const text of randomTexts(1500, 21)) {
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      expect(tokenizer.decode(ids)).toBe(text);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize)).toBe(true);
    }
  });

  it('prepends <|bos|> only when asked for special tokens, and can skip specials when decoding', () => {
    const text = 'Bob has 12 books.';
    const plain = tokenizer.encode(text, { addSpecialTokens: false });
    expect(tokenizer.encode(text)).toEqual([tokenizer.specialTokenIds.bos, ...plain]);
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(`<|bos|>${text}`);
    expect(tokenizer.decode(tokenizer.encode(text), { skipSpecialTokens: true })).toBe(text);
  });

  it('compresses text it was trained on into fewer tokens than bytes', () => {
    const text = sampleCorpus(50, 99).join('\n');
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    expect(ids.length).toBeLessThan(new TextEncoder().encode(text).length / 2);
  });

  it('matches special-token strings in text as single tokens', () => {
    const ids = tokenizer.encode('a<|end|>b', { addSpecialTokens: false });
    expect(ids).toContain(tokenizer.specialTokenIds.end);
    expect(ids).toHaveLength(3);
  });

  it('renders the chat template with and without a generation prompt', () => {
    expect(tokenizer.applyChatTemplate(chat)).toBe(
      '<|bos|><|system|>Answer briefly.<|end|><|user|>Alice has 3 apples. How many?<|end|>' +
        '<|assistant|>The answer is: 3<|end|>',
    );
    expect(tokenizer.applyChatTemplate(chat.slice(0, 2), { addGenerationPrompt: true })).toMatch(
      /<\|assistant\|>$/,
    );
  });

  it('names the file when tokenizer.json is corrupt', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'dnc-tokenizer-broken-'));
    await writeTokenizerFiles(broken, trainBpe(['abc abc'], { vocabSize: 270 }), { modelMaxLength: 8 });
    await writeFile(join(broken, 'tokenizer.json'), '{"model": {"type": "Unigram"}}');
    await expect(Tokenizer.load(broken)).rejects.toThrow(
      /tokenizer\.json: not a dnc byte-level BPE tokenizer file/,
    );
    await writeFile(join(broken, 'tokenizer.json'), '{"model": ');
    await expect(Tokenizer.load(broken)).rejects.toThrow(/tokenizer\.json: invalid JSON/);
  });
});

describe('interoperability with transformers.js', () => {
  it('AutoTokenizer loads the files offline and encodes, decodes and templates identically', async () => {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(directory);
    const theirs = await AutoTokenizer.from_pretrained(basename(directory), { local_files_only: true });
    for (const text of [...randomTexts(300, 31), ...sampleCorpus(20, 32)]) {
      const ours = tokenizer.encode(text);
      expect(theirs.encode(text)).toEqual(ours);
      expect(theirs.decode(ours)).toBe(tokenizer.decode(ours));
    }
    const rendered = theirs.apply_chat_template(chat, { tokenize: false, add_generation_prompt: false });
    expect(rendered).toBe(tokenizer.applyChatTemplate(chat));
    const ids = theirs.apply_chat_template(chat, {
      tokenize: true,
      return_tensor: false,
      return_dict: false,
    });
    expect(ids).toEqual(tokenizer.encode(tokenizer.applyChatTemplate(chat), { addSpecialTokens: false }));
  });
});
