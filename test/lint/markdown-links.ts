/**
 * Checks the relative links of markdown pages: each must name a file that exists and, with a
 * `#anchor` into a markdown page, a heading of that page (GitHub's heading ids: github-slugger).
 * Links are read with marked's lexer, so links inside code are not links. Web links are not
 * fetched (tests are offline).
 *
 *   npx tsx test/lint/markdown-links.ts README.md docs/*.md
 *
 * prints the broken links, one a line, and exits 1 when there are any.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import GithubSlugger from 'github-slugger';
import { marked, type Token } from 'marked';

/** The visible text of inline tokens (what GitHub slugs a heading from). */
function plainText(tokens: readonly Token[]): string {
  return tokens
    .map((token) => {
      if ('tokens' in token && Array.isArray(token.tokens)) return plainText(token.tokens);
      if (token.type === 'html') return '';
      return 'text' in token && typeof token.text === 'string' ? token.text : '';
    })
    .join('');
}

/** The anchors a markdown text's headings get on GitHub, plus any explicit `<a id|name="…">`. */
export function headingAnchors(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  marked.walkTokens(marked.lexer(markdown), (token) => {
    if (token.type === 'heading') anchors.add(slugger.slug(plainText(token.tokens ?? [])));
  });
  for (const match of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  return anchors;
}

/** Every link and image target of a markdown text, as written. */
export function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  marked.walkTokens(marked.lexer(markdown), (token) => {
    if (token.type === 'link' || token.type === 'image') targets.push(token.href);
  });
  return targets;
}

const external = /^[a-z][a-z0-9+.-]*:/i;

/** The broken relative links of one markdown file, each as `file: target (why)`. */
export function brokenLinks(file: string, root: string = process.cwd()): string[] {
  const markdown = readFileSync(file, 'utf8');
  const broken: string[] = [];
  const name = relative(root, file);
  for (const target of linkTargets(markdown)) {
    if (external.test(target)) continue;
    const [path = '', anchor] = target.split('#', 2) as [string, string | undefined];
    const resolved = path === '' ? file : resolve(dirname(file), decodeURI(path));
    if (!existsSync(resolved)) {
      broken.push(`${name}: ${target} (no file ${relative(root, resolved)})`);
      continue;
    }
    const isPage = resolved.endsWith('.md') && statSync(resolved).isFile();
    if (anchor === undefined || anchor === '' || !isPage) continue;
    if (!headingAnchors(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor)))
      broken.push(`${name}: ${target} (no heading #${anchor} in ${relative(root, resolved)})`);
  }
  return broken;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const broken = process.argv.slice(2).flatMap((file) => brokenLinks(resolve(file)));
  for (const line of broken) console.log(line);
  process.exitCode = broken.length > 0 ? 1 : 0;
}
