import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Lints `code` as if it were the file at `filePath` (relative to the repository), with the repository's config. */
async function lint(code: string, filePath: string) {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports');
}

describe('layer rule (eslint.config.js)', () => {
  it('refuses a cli/ import from a file outside src/cli, naming where to move it', async () => {
    const code = "import { log } from '../cli/output.js';\n\nlog('x');\n";
    const messages = await lint(code, 'src/train/layer-fixture.ts');
    expect(messages).toHaveLength(1);
    expect(messages[0]!.severity).toBe(2);
    expect(messages[0]!.message).toContain('src/cli is the top layer');
  });

  it('refuses deeper paths, type-only imports and re-exports too', async () => {
    const code = [
      "import type { Progress } from '../../cli/progress.js';",
      "export { printJson } from '../../cli/output.js';",
      'export type P = Progress;',
      '',
    ].join('\n');
    expect(await lint(code, 'src/train/remote/layer-fixture.ts')).toHaveLength(2);
  });

  it('lets src/cli import itself and other files import lower layers', async () => {
    const fromCli = "import { log } from '../output.js';\n\nlog('x');\n";
    expect(await lint(fromCli, 'src/cli/commands/layer-fixture.ts')).toHaveLength(0);
    const below = "import { UserError } from '../errors/user-error.js';\n\nthrow new UserError('x');\n";
    expect(await lint(below, 'src/train/layer-fixture.ts')).toHaveLength(0);
  });
});
