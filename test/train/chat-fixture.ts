/** Test fixtures: short decomposer chat examples from the hops world's gold decompositions. */
import { writeFile } from 'node:fs/promises';
import type { ChatExample } from '../../src/data/schemas.js';
import { renderDecomposition } from '../../src/prompts/index.js';
import { generateExamples } from '../../src/worlds/index.js';

/** `count` chats (user: the question, assistant: its numbered sub-questions), deterministic per seed. */
export function decomposerChats(count: number, seed = 1): ChatExample[] {
  return generateExamples({ world: 'hops', n: count, seed, split: 'train' }).map((example) => ({
    messages: [
      { role: 'user', content: example.question },
      { role: 'assistant', content: renderDecomposition(example.gold?.subquestions ?? []) },
    ],
  }));
}

export async function writeChats(file: string, chats: readonly ChatExample[]): Promise<void> {
  await writeFile(file, chats.map((chat) => `${JSON.stringify(chat)}\n`).join(''));
}
