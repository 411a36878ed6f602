import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { brokenLinks, headingAnchors, linkTargets } from './markdown-links.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const scratch = mkdtempSync(join(tmpdir(), 'dnc-links-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('markdown links', () => {
  it('reads links outside code and heading ids as GitHub makes them', () => {
    const text =
      '# The `dnc run` command: 1, 2\n\n## Usage\n\n## Usage\n\n[a](b.md#c) `[no](x.md)`\n\n```\n[no](y.md)\n```\n';
    expect(linkTargets(text)).toEqual(['b.md#c']);
    expect([...headingAnchors(text)]).toEqual(['the-dnc-run-command-1-2', 'usage', 'usage-1']);
  });

  it('finds a missing file, a missing heading and a missing anchor in the same page', () => {
    mkdirSync(join(scratch, 'docs'), { recursive: true });
    writeFileSync(join(scratch, 'docs', 'other.md'), '# Other page\n\n## A part\n');
    writeFileSync(
      join(scratch, 'docs', 'page.md'),
      '# Page\n\n[ok](other.md#a-part) [ok](#page) [web](https://example.com/x.md)\n\n' +
        '[gone](missing.md) [wrong](other.md#no-part) [here](#nowhere)\n',
    );
    expect(brokenLinks(join(scratch, 'docs', 'page.md'), scratch)).toEqual([
      'docs/page.md: missing.md (no file docs/missing.md)',
      'docs/page.md: other.md#no-part (no heading #no-part in docs/other.md)',
      'docs/page.md: #nowhere (no heading #nowhere in docs/page.md)',
    ]);
  });

  it('every relative link in README.md and docs/ resolves to a file and, for #anchors, a heading', () => {
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.flatMap((page) => brokenLinks(join(root, page), root))).toEqual([]);
  });
});
