import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('dnc CLI', () => {
  it('prints help and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: dnc');
  });

  it('rejects an unknown flag with one line on stderr and a non-zero exit', async () => {
    const result = await runCli(['--frobnicate']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unknown option '--frobnicate'/);
  });
});
