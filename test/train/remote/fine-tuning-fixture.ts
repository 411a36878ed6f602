/** Chat JSONL files in the fine-tuning shape, made from a synthetic world's gold decompositions. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDecomposePrompt, renderDecomposition } from '../../../src/prompts/index.js';
import { generateExamples } from '../../../src/worlds/index.js';
import { FineTuningClient } from '../../../src/train/remote/fine-tuning-client.js';

export function decompositionLines(n: number, seed: number): string[] {
  return generateExamples({ world: 'math', n, seed, split: 'train' }).map((example) =>
    JSON.stringify({
      messages: [
        ...renderDecomposePrompt({ question: example.question, maxSubquestions: 6 }),
        { role: 'assistant', content: renderDecomposition(example.gold?.subquestions ?? []) },
      ],
    }),
  );
}

export async function trainingFiles(): Promise<{ directory: string; training: string; validation: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'dnc-fine-tuning-'));
  const training = join(directory, 'train.jsonl');
  const validation = join(directory, 'validation.jsonl');
  await writeFile(training, `${decompositionLines(12, 1).join('\n')}\n`);
  await writeFile(validation, `${decompositionLines(3, 2).join('\n')}\n`);
  return { directory, training, validation };
}

/** A client for the fake server that retries without waiting. */
export function testClient(url: string): FineTuningClient {
  return new FineTuningClient({ baseURL: url, apiKey: 'test', sleep: async () => undefined });
}
