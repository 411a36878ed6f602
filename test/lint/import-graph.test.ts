import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fileCycles, folderCycles, folderImports, readImportGraph } from './import-graph.js';

const graph = readImportGraph(fileURLToPath(new URL('../../src', import.meta.url)));

/**
 * Folder pairs that still import each other (none now). A new pair fails this test; move the
 * shared piece down instead of adding it here (docs/layers.md).
 */
const knownFolderCycles: string[] = [];

describe('import graph of src/', () => {
  it('finds a cycle it is shown (the reader works)', () => {
    const toy = {
      edges: new Map([
        ['a/x.ts', ['b/y.ts']],
        ['b/y.ts', ['a/x.ts']],
        ['c/z.ts', ['a/x.ts']],
      ]),
    };
    expect(folderCycles(toy)).toEqual(['a <-> b']);
    expect(fileCycles(toy)).toEqual([['a/x.ts', 'b/y.ts']]);
    expect(graph.edges.get('cli/main.ts')).toContain('errors/user-error.ts');
  });

  it('has no folder cycle beyond the known ones', () => {
    expect(folderCycles(graph).filter((pair) => !knownFolderCycles.includes(pair))).toEqual([]);
  });

  it('keeps the cuts: runtime and teacher, eval and serve, the brick manifest and export, decoding', () => {
    const imports = folderImports(graph);
    expect(imports.get('teacher -> runtime')).toBeUndefined();
    // Recipes sit below the runtime that runs them and the trainer that fits them.
    expect(imports.get('decoding -> runtime')).toBeUndefined();
    expect(imports.get('decoding -> train')).toBeUndefined();
    expect(imports.get('eval -> serve')).toBeUndefined();
    expect([...imports.keys()].filter((key) => key.endsWith('-> cli'))).toEqual([]);
    const manifestReaders = [...(imports.get('runtime -> export') ?? [])].filter((edge) =>
      edge.endsWith('brick-manifest.ts'),
    );
    expect(manifestReaders).toEqual([]);
  });
});
