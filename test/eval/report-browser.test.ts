/**
 * Renders report.html in a real browser (Debian's chromium, headless) and checks that the
 * plots are in the rendered DOM and that the screenshot is not blank. Skips, saying so,
 * when /usr/bin/chromium is absent (CI installs it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { aggregateReport } from '../../src/eval/aggregate.js';
import { writeReports } from '../../src/eval/write-reports.js';
import { syntheticChains, syntheticTraces } from './synthetic-traces.js';

const chromium = '/usr/bin/chromium';
const available = existsSync(chromium);
if (!available) {
  console.warn(
    `report browser check skipped: ${chromium} not found (install it with: apt-get install -y chromium)`,
  );
}

async function runChromium(userDataDirectory: string, extra: string[], page: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${userDataDirectory}`,
      '--window-size=1200,1600',
      ...extra,
      page,
    ],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe.skipIf(!available)('report.html in headless chromium', () => {
  let directory = '';
  // Chromium profiles are several megabytes: do not leave them behind.
  afterEach(async () => {
    if (directory !== '') await rm(directory, { recursive: true, force: true });
  });

  it('renders both plots with their marks and produces a non-trivial screenshot', async () => {
    directory = await mkdtemp(join(tmpdir(), 'dnc-browser-'));
    const report = aggregateReport({
      suite: 'browser',
      chains: syntheticChains,
      traces: syntheticTraces(20),
    });
    const written = await writeReports(join(directory, 'report'), report);
    const page = pathToFileURL(written.html).href;

    const dom = await runChromium(join(directory, 'profile-dom'), ['--dump-dom'], page);
    expect(dom).toContain('<figure id="accuracy-vs-cost"><svg');
    expect(dom).toContain('<figure id="scores-by-dataset"><svg');
    expect(dom.split('aria-roledescription="point"').length - 1).toBeGreaterThanOrEqual(
      report.results.length,
    );
    expect(dom.split('aria-roledescription="bar"').length - 1).toBe(report.results.length);
    expect(dom.split('aria-roledescription="line mark"').length - 1).toBe(3);
    expect(dom).toContain('<table class="paper">');

    const screenshot = join(directory, 'report.png');
    await runChromium(join(directory, 'profile-shot'), [`--screenshot=${screenshot}`], page);
    const png = await readFile(screenshot);
    expect(pngSize(png)).toEqual({ width: 1200, height: 1600 });
    // A blank white 1200×1600 page compresses to a few kilobytes; tables and plots do not.
    expect((await stat(screenshot)).size).toBeGreaterThan(50_000);
  });
});
