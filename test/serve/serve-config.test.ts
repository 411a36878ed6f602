/** The serve config: strict validation with errors naming the key and the file, and defaults. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/defaults.js';
import { loadServeBricks } from '../../src/serve/serve-bricks.js';
import { loadServeConfig, resolveServeConfig, ServeConfigError } from '../../src/serve/serve-config.js';
import { runCli } from '../helpers/cli.js';

const chain = { name: 'ref/ref', decomposer: 'reference', solver: 'reference', mode: 'static' };
const directory = mkdtempSync(join(tmpdir(), 'dnc-serve-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function writeConfig(name: string, value: unknown): string {
  const file = join(directory, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

describe('serve config', () => {
  it('fills in the serve defaults', () => {
    const config = resolveServeConfig({ chains: [chain], limits: { queueSize: 0 } });
    expect(config.port).toBe(defaults.serve.port);
    expect(config.host).toBe('127.0.0.1');
    expect(config.apiKeys).toEqual([]);
    expect(config.limits).toEqual({ ...defaults.serve.limits, queueSize: 0 });
    expect(config.workers).toEqual({ placement: 'auto', threads: defaults.serve.workerThreads });
  });

  it('rejects an unknown key, naming the key and the file', () => {
    const file = writeConfig('typo.json', { chains: [chain], limits: { concurency: 4 } });
    expect(() => loadServeConfig(file)).toThrow(ServeConfigError);
    expect(() => loadServeConfig(file)).toThrow(
      new RegExp(`${file.replace(/[.\\/]/g, '\\$&')}: limits: .*concurency`),
    );
    const top = writeConfig('top.json', { chains: [chain], prot: 8080 });
    expect(() => loadServeConfig(top)).toThrow(/prot/);
  });

  it('rejects a wrong type, duplicate chain names, a chain without its decomposer and bad JSON', () => {
    expect(() => resolveServeConfig({ chains: [chain], port: '80' })).toThrow(/port/);
    expect(() => resolveServeConfig({ chains: [chain, chain] })).toThrow(
      /chains\.1\.name: chain name 'ref\/ref' is used twice/,
    );
    expect(() =>
      resolveServeConfig({ chains: [{ name: 'x', solver: 'reference', mode: 'static' }] }),
    ).toThrow(/chains\.0\.decomposer/);
    expect(() => resolveServeConfig({ chains: [] })).toThrow(/at least one chain/);
    expect(() => loadServeConfig(writeConfig('bad.json', '{ "chains": ['))).toThrow(
      /serve config .*bad\.json: invalid JSON/,
    );
    expect(() => loadServeConfig(join(directory, 'absent.json'))).toThrow(
      /serve config not found: .*absent\.json \(check the path given to --config\)/,
    );
  });

  it("refuses a duration outside Node's timer range, naming the key (Node would fire it at once)", () => {
    for (const key of ['timeoutMs', 'receiveTimeoutMs'])
      expect(() => resolveServeConfig({ chains: [chain], limits: { [key]: 2 ** 31 } })).toThrow(
        new RegExp(`limits\\.${key} must be at most 2147483647 ms`),
      );
    expect(resolveServeConfig({ chains: [chain], limits: { timeoutMs: 2 ** 31 - 1 } }).limits.timeoutMs).toBe(
      2 ** 31 - 1,
    );
  });

  it('refuses an empty key list and keys with whitespace', () => {
    expect(() => resolveServeConfig({ chains: [chain], apiKeys: [] })).toThrow(/apiKeys is empty/);
    expect(() => resolveServeConfig({ chains: [chain], apiKeys: ['good-key-123', 'bad key 456'] })).toThrow(
      /apiKeys\.1: an API key must not contain whitespace/,
    );
    expect(() => resolveServeConfig({ chains: [chain], apiKeys: ['tab\tkey-1234'] })).toThrow(/whitespace/);
    expect(resolveServeConfig({ chains: [chain], apiKeys: ['good-key-123'] }).publicMetrics).toBe(false);
  });

  it('refuses the gold decomposer, which needs dataset examples', async () => {
    const config = resolveServeConfig({ chains: [{ ...chain, decomposer: 'gold' }] });
    await expect(
      loadServeBricks(config.chains, {
        placement: 'auto',
        threads: 1,
        remoteConcurrency: 1,
        loadOptions: {},
      }),
    ).rejects.toThrow(/'gold' reads a dataset example/);
  });

  it('makes `dnc serve` exit non-zero with one line naming the file and the key', async () => {
    const file = writeConfig('cli.json', { chains: [chain], limits: { bodyBytes: -1 } });
    const result = await runCli(['serve', '--config', file, '--port', '0']);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^dnc: .*cli\.json: limits\.bodyBytes: limits\.bodyBytes must be > 0/);
    const good = writeConfig('good.json', { chains: [chain] });
    const deadline = await runCli([
      'serve',
      '--config',
      good,
      '--port',
      '0',
      '--shutdown-deadline-ms',
      '2147483648',
    ]);
    expect(deadline.code).not.toBe(0);
    expect(deadline.stderr.trim().split('\n')).toHaveLength(1);
    expect(deadline.stderr).toMatch(/--shutdown-deadline-ms must be at most 2147483647 ms/);
  });
});
