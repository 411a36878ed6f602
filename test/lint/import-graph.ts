/**
 * The static import graph of src/ (relative `import`/`export ... from`, type-only ones included):
 * which top-level folders import each other, and which files form cycles (strongly connected
 * groups, Tarjan). Run it to print the picture: `npx tsx test/lint/import-graph.ts [src]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ImportGraph {
  /** File → the files it imports, paths relative to the root. */
  edges: Map<string, string[]>;
}

const importPattern = /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g;

export function readImportGraph(root: string): ImportGraph {
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') || file.endsWith('.js'),
  );
  const known = new Set(files);
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const targets = new Set<string>();
    for (const match of text.matchAll(importPattern)) {
      const target = relative(root, resolve(root, dirname(file), match[1]!));
      const typescript = target.replace(/\.js$/, '.ts');
      if (known.has(typescript)) targets.add(typescript);
      else if (known.has(target)) targets.add(target);
    }
    edges.set(file, [...targets]);
  }
  return { edges };
}

const folderOf = (file: string): string => (file.includes('/') ? file.split('/')[0]! : '.');

/** `a -> b` for every import from folder a into another folder b, with the files behind it. */
export function folderImports(graph: ImportGraph): Map<string, string[]> {
  const imports = new Map<string, string[]>();
  for (const [file, targets] of graph.edges)
    for (const target of targets) {
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to) continue;
      const key = `${from} -> ${to}`;
      imports.set(key, [...(imports.get(key) ?? []), `${file} -> ${target}`]);
    }
  return imports;
}

/** Pairs of folders that import each other, as `a <-> b` (a < b). */
export function folderCycles(graph: ImportGraph): string[] {
  const imports = folderImports(graph);
  const pairs: string[] = [];
  for (const key of imports.keys()) {
    const [from, to] = key.split(' -> ') as [string, string];
    if (from < to && imports.has(`${to} -> ${from}`)) pairs.push(`${from} <-> ${to}`);
  }
  return pairs.sort();
}

/** Groups of two or more files that import each other, directly or through others. */
export function fileCycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.edges.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1) groups.push(group.sort());
  };
  for (const file of graph.edges.keys()) if (!index.has(file)) visit(file);
  return groups;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = readImportGraph(resolve(process.argv[2] ?? 'src'));
  const imports = folderImports(graph);
  const cycles = folderCycles(graph).map((pair) => {
    const [a, b] = pair.split(' <-> ') as [string, string];
    return { pair, imports: [...imports.get(`${a} -> ${b}`)!, ...imports.get(`${b} -> ${a}`)!] };
  });
  console.log(JSON.stringify({ folderCycles: cycles, fileCycles: fileCycles(graph) }, null, 2));
}
