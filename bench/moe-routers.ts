/**
 * Training-step speed of the MoE routers against Mixtral's softmax router, on an MoE preset
 * (default moe-nano) changed only in `moe.router`: each pair's steps alternate (softmax, other,
 * softmax, ...) so both see the same background load (bench/train.ts `measureMixture`), and the
 * ratio is the other router's tokens/s over softmax's in this run. Prints one JSON object.
 *
 *   npx tsx bench/moe-routers.ts [--preset moe-nano] [--rounds 6]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPreset } from '../src/student/config.js';
import { measureMixture } from './train.js';

const { values: flags } = parseArgs({
  options: { preset: { type: 'string', default: 'moe-nano' }, rounds: { type: 'string', default: '6' } },
});
const preset = await loadPreset(flags.preset!);
const moe = preset.architecture.moe;
if (moe === undefined) throw new Error(`--preset ${flags.preset} is not a mixture of experts`);
const root = await mkdtemp(join(tmpdir(), 'dnc-bench-routers-'));
try {
  const variant = async (router: 'softmax' | 'sigmoid' | 'cosine'): Promise<string> => {
    const file = join(root, `${preset.name}-${router}.json`);
    const { routerDimension: _dimension, routerTemperature: _temperature, ...settings } = moe;
    const architecture = { ...preset.architecture, moe: { ...settings, router } };
    await writeFile(file, JSON.stringify({ ...preset, name: `${preset.name}-${router}`, architecture }));
    return file;
  };
  const softmax = await variant('softmax');
  const results = [];
  for (const router of ['sigmoid', 'cosine'] as const) {
    const [measured] = await measureMixture([[softmax, await variant(router)]], Number(flags.rounds));
    const { dense, mixture, ratio } = measured as {
      dense: { tokensPerSecond: unknown };
      mixture: { params: number; tokensPerSecond: unknown };
      ratio: number;
    };
    results.push({
      router,
      params: mixture.params,
      tokensPerSecond: mixture.tokensPerSecond,
      softmaxTokensPerSecond: dense.tokensPerSecond,
      ratioToSoftmax: ratio,
    });
  }
  console.log(JSON.stringify({ preset: preset.name, rounds: Number(flags.rounds), routers: results }));
} finally {
  await rm(root, { recursive: true, force: true });
}
