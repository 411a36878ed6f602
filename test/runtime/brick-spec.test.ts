import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBrickSpec } from '../../src/runtime/bricks/brick-spec.js';
import { loadBrick, type BrickLoader } from '../../src/runtime/bricks/registry.js';
import { GoldBrick } from '../../src/runtime/bricks/gold-brick.js';

describe('brick specs', () => {
  it('parses every kind of spec', () => {
    expect(parseBrickSpec('reference')).toEqual({ spec: 'reference', kind: 'reference' });
    expect(parseBrickSpec('gold')).toEqual({ spec: 'gold', kind: 'gold' });
    expect(parseBrickSpec('openai:gpt-4o-mini')).toEqual({
      spec: 'openai:gpt-4o-mini',
      kind: 'openai',
      model: 'gpt-4o-mini',
    });
    expect(parseBrickSpec('runs/quickstart/export')).toMatchObject({
      kind: 'onnx',
      path: 'runs/quickstart/export',
    });
    expect(parseBrickSpec('C:\\bricks\\tiny')).toMatchObject({ kind: 'onnx' });
  });

  it('rejects empty specs, a missing model and unknown providers with the spec named', () => {
    expect(() => parseBrickSpec('')).toThrow(/brick spec '': .*use `reference`, `gold`, `openai:MODEL`/);
    expect(() => parseBrickSpec('openai:')).toThrow(/brick spec 'openai:': no model after `openai:`/);
    expect(() => parseBrickSpec('anthropic:claude')).toThrow(
      /brick spec 'anthropic:claude': unknown brick provider 'anthropic'/,
    );
  });

  it('dispatches to the loader registered for the kind', async () => {
    expect(await loadBrick('gold')).toBeInstanceOf(GoldBrick);
    const directory = mkdtempSync(join(tmpdir(), 'dnc-brick-'));
    const seen: string[] = [];
    const onnxLoader: BrickLoader = {
      kind: 'onnx',
      load: async (spec) => {
        seen.push(spec.path ?? '');
        return new GoldBrick();
      },
    };
    await loadBrick(directory, { loaders: [onnxLoader] });
    expect(seen).toEqual([directory]);
  });

  it('names the spec and the fix when a brick directory is missing, a file, or has no loader', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'dnc-brick-'));
    await expect(loadBrick(join(directory, 'nope'))).rejects.toThrow(
      /no brick directory exists at .*nope.*dnc export/,
    );
    const file = join(directory, 'file.json');
    writeFileSync(file, '{}');
    await expect(loadBrick(file)).rejects.toThrow(
      /is a file; a local brick is a directory holding brick.json/,
    );
    await expect(loadBrick(directory, { loaders: [] })).rejects.toThrow(
      /no loader for 'onnx' bricks is registered/,
    );
  });
});
