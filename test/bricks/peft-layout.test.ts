/**
 * Merged adapter bricks read as PEFT reads them: test/bricks/peft-torch-reference.py (plain torch,
 * no dnc code) takes adapter_config.json and adapter_model.safetensors of the merge and of its
 * parents, merges each module as PEFT's LoraModel does ((lora_alpha / r) B A under the
 * base_model.model.<module> names) and compares the merge's change with the weighted sum of the
 * parents' — for "cat" exactly, and for wrong weights it must not match. Skipped (and says why)
 * without Debian's python3-torch.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { mergeAdapterBricks } from '../../src/export/adapter-brick-operations.js';
import { writePeftAdapter } from '../../src/export/peft-adapter.js';
import { loadPretrainedCheckpoint } from '../../src/student/hugging-face-checkpoint.js';
import { initializeLora, type LoraSettings } from '../../src/student/lora.js';
import { checkpointCases, temporaryDirectory, writeCheckpoint } from '../student/hugging-face-fixtures.js';
import { debianPython, torchMissingReason } from '../student/oracle-helpers.js';

const script = fileURLToPath(new URL('./peft-torch-reference.py', import.meta.url));
const skipReason = torchMissingReason();
if (skipReason !== undefined) console.warn(`PEFT layout oracle test skipped: ${skipReason}`);

let root: string;
const parents: [string, LoraSettings][] = [
  ['a', { rank: 2, alpha: 8, dropout: 0, targets: ['q_proj', 'o_proj'] }],
  ['b', { rank: 4, alpha: 4, dropout: 0, targets: ['o_proj', 'gate_proj', 'down_proj'] }],
];

beforeAll(async () => {
  root = await temporaryDirectory('dnc-peft-layout-');
  const base = join(root, 'base');
  await writeCheckpoint(
    base,
    checkpointCases.find((entry) => entry.name === 'qwen2-biases-bf16')!,
  );
  const { architecture } = await loadPretrainedCheckpoint(base);
  for (const [index, [name, settings]] of parents.entries()) {
    const weights = initializeLora(architecture, settings, index + 1);
    for (const [key, values] of weights)
      if (key.includes('lora_B'))
        weights.set(
          key,
          values.map((_, at) => Math.cos(index * 5 + at * at * 0.31) * 0.1),
        );
    await writePeftAdapter({
      architecture,
      settings,
      weights,
      baseModel: base,
      outDirectory: join(root, name),
    });
    await writeFile(
      join(root, name, 'brick.json'),
      JSON.stringify({
        specificationVersion: 'v1',
        kind: 'lora-adapter',
        role: 'decomposer',
        base,
        adapter: '.',
      }),
    );
  }
}, 60_000);

describe.skipIf(skipReason !== undefined)('merged adapters in PEFT layout (torch oracle)', () => {
  it('the merge changes every module by the weighted sum of the parents, as PEFT reads the files', async () => {
    const out = join(root, 'merged');
    await mergeAdapterBricks({
      bricks: [join(root, 'a'), join(root, 'b')],
      weights: [0.3, -1.2],
      outDirectory: out,
    });
    const check = (weights: number[]) =>
      JSON.parse(
        execFileSync(
          debianPython,
          [
            script,
            out,
            JSON.stringify([
              [join(root, 'a'), weights[0]],
              [join(root, 'b'), weights[1]],
            ]),
          ],
          { encoding: 'utf8' },
        ),
      ) as { modules: number; max_error: number; max_change: number };
    const exact = check([0.3, -1.2]);
    expect(exact.modules).toBe(2 * 4); // 2 layers × the union q, o, gate, down
    expect(exact.max_change).toBeGreaterThan(1e-3);
    expect(exact.max_error).toBeLessThan(1e-6);
    expect(check([0.3, 1.2]).max_error).toBeGreaterThan(1e-4); // the oracle notices wrong weights
  }, 60_000);
});
