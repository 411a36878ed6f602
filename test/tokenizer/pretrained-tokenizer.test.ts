import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeChatForTraining } from '../../src/tokenizer/chat-encoding.js';
import { readPretrainedTokenizerFiles } from '../../src/tokenizer/pretrained-tokenizer-files.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { fixtureTokenizerFiles, temporaryDirectory } from '../student/hugging-face-fixtures.js';

async function pretrainedTokenizer(): Promise<{ tokenizer: Tokenizer; directory: string }> {
  const directory = await temporaryDirectory('dnc-pretrained-tokenizer-');
  await mkdir(directory, { recursive: true });
  const { tokenizerJson, tokenizerConfig } = fixtureTokenizerFiles();
  await writeFile(join(directory, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  await writeFile(join(directory, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  return { tokenizer: await Tokenizer.load(directory), directory };
}

describe('a pretrained base tokenizer (ChatML template, no dnc special tokens)', () => {
  it('is recognised as pretrained, with its eos/pad and the turn end read from its template', async () => {
    const { tokenizer, directory } = await pretrainedTokenizer();
    expect(tokenizer.kind).toBe('pretrained');
    expect(tokenizer.bosTokenId).toBeNull();
    expect(tokenizer.eosTokenId).toBe(tokenizer.tokenToId('<|im_end|>'));
    expect(tokenizer.padTokenId).toBe(tokenizer.tokenToId('<|endoftext|>'));
    expect(tokenizer.endTokenId).toBe(tokenizer.tokenToId('<|im_end|>'));
    expect(() => tokenizer.specialTokenIds).toThrow(/pretrained tokenizer without dnc special tokens/);
    const files = await readPretrainedTokenizerFiles(directory);
    expect(Tokenizer.fromPretrainedFiles(files).endTokenId).toBe(tokenizer.endTokenId);
  });

  it('masks exactly each assistant answer and its <|im_end|>, and matches whole-text tokenization', async () => {
    const { tokenizer } = await pretrainedTokenizer();
    const messages = [
      { role: 'system' as const, content: 'You split questions.' },
      { role: 'user' as const, content: 'How old is Ann?' },
      { role: 'assistant' as const, content: '1. Who is Ann?' },
      { role: 'user' as const, content: 'And Bob?' },
      { role: 'assistant' as const, content: '2. Who is Bob?' },
    ];
    const { inputIds, lossMask } = encodeChatForTraining(tokenizer, messages);
    expect(inputIds).toEqual(
      tokenizer.encode(tokenizer.applyChatTemplate(messages), { addSpecialTokens: false }),
    );
    const masked: number[][] = [];
    lossMask.forEach((bit, index) => {
      if (bit === 1 && lossMask[index - 1] !== 1) masked.push([]);
      if (bit === 1) masked.at(-1)!.push(inputIds[index]);
    });
    expect(masked.map((ids) => tokenizer.decode(ids))).toEqual([
      '1. Who is Ann?<|im_end|>',
      '2. Who is Bob?<|im_end|>',
    ]);
  });

  it('refuses a template that rewrites earlier turns', async () => {
    const { tokenizerJson, tokenizerConfig } = fixtureTokenizerFiles();
    const rewriting =
      "{% for message in messages %}{% if loop.last %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}" +
      "{% else %}{{ '<|im_start|>' + message['role'] + '\\n<|im_end|>\\n' }}{% endif %}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const tokenizer = Tokenizer.fromPretrainedFiles({
      tokenizerJson: tokenizerJson as Record<string, unknown>,
      tokenizerConfig: tokenizerConfig as Record<string, unknown>,
      chatTemplate: rewriting,
    });
    expect(() =>
      encodeChatForTraining(tokenizer, [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
        { role: 'user', content: 'q2' },
        { role: 'assistant', content: 'a2' },
      ]),
    ).toThrow(/does not render conversations as a growing prefix/);
  });
});
