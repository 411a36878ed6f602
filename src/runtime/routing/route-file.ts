/**
 * Route files: what `dnc route calibrate` writes and a cascade chain loads with
 * `"route": { "file": PATH }`. The rule itself (`by`, `threshold`, `samples`, `scorer`) and the
 * record of how it was chosen: the suite, the calibration datasets it read (never a `test`
 * split), the criterion, and what the threshold achieved there.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../errors/user-error.js';
import { readJsonFile, readJsonFileSync } from '../../data/json-file.js';
import { writeFileAtomic } from '../../data/jsonl.js';
import type { Chain } from '../../data/schemas.js';
import { formatZodError } from '../../data/zod-format.js';
import { inlineRouteSchema, type InlineRoute } from '../../data/route-schema.js';

export const calibrationCriterionSchema = z.strictObject({
  kind: z.enum(['target-accuracy', 'max-cost-per-example', 'escalate-share']),
  value: z.number().finite().nonnegative(),
});
export type CalibrationCriterion = z.infer<typeof calibrationCriterionSchema>;

export const routeFileSchema = z.strictObject({
  version: z.literal(1),
  /** The cascade chain the route was calibrated for, and its decomposers (cheapest first). */
  chain: z.string().min(1),
  decomposers: z.array(z.string().min(1)).min(2),
  route: inlineRouteSchema,
  calibration: z.strictObject({
    suite: z.string().min(1),
    /** The datasets the threshold was chosen on, as the suite gave them. */
    datasets: z.array(z.looseObject({ name: z.string().min(1) })).min(1),
    examples: z.number().int().positive(),
    criterion: calibrationCriterionSchema,
    /** Whether some threshold met the criterion (if not, the closest one was kept). */
    met: z.boolean(),
    achieved: z.strictObject({
      accuracy: z.number().min(0).max(1),
      escalateShare: z.number().min(0).max(1),
      costPerExampleUsd: z.number().nonnegative(),
    }),
    createdAt: z.string(),
  }),
});
export type RouteFile = z.infer<typeof routeFileSchema>;

/** JSON cannot hold ±Infinity: thresholds are written as "-Infinity" / "Infinity". */
function serializableThreshold(threshold: number): number | string {
  return Number.isFinite(threshold) ? threshold : String(threshold);
}

export async function writeRouteFile(file: string, routeFile: RouteFile): Promise<void> {
  const checked = routeFileSchema.parse(routeFile);
  const json = {
    ...checked,
    route: { ...checked.route, threshold: serializableThreshold(checked.route.threshold) },
  };
  await writeFileAtomic(file, `${JSON.stringify(json, null, 2)}\n`);
}

const missingHint = 'write one with `dnc route calibrate --suite FILE --chain NAME ... --out FILE`';

function checkedRouteFile(value: unknown, file: string, what: string): RouteFile {
  const parsed = routeFileSchema.safeParse(value);
  if (!parsed.success) throw new UserError(`${what} ${file}: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

export async function readRouteFile(file: string, what = 'route file'): Promise<RouteFile> {
  return checkedRouteFile(await readJsonFile(file, { what, missingHint }), file, what);
}

/** The rule of a chain's route file, for a chain of `decomposers` decomposers. */
function loadedRoute(chain: Chain, reference: string, routeFile: RouteFile): InlineRoute {
  const decomposers = Array.isArray(chain.decomposer) ? chain.decomposer : [];
  if (routeFile.decomposers.length !== decomposers.length)
    throw new UserError(
      `chain "${chain.name}": route file ${reference} was calibrated for ${routeFile.decomposers.length} decomposers, the chain has ${decomposers.length}; recalibrate with \`dnc route calibrate\``,
    );
  return routeFile.route;
}

/** `loadChainRoutes` for synchronous callers (serve reads its config synchronously). */
export function loadChainRoutesSync<T extends Chain>(chains: readonly T[], cwd: string): T[] {
  return chains.map((chain) => {
    const route = chain.route;
    if (route === undefined || !('file' in route)) return chain;
    const file = resolve(cwd, route.file);
    const what = `route file of chain "${chain.name}"`;
    const routeFile = checkedRouteFile(readJsonFileSync(file, { what, missingHint }), file, what);
    return { ...chain, route: loadedRoute(chain, route.file, routeFile) };
  });
}

/**
 * Replaces each `route: { file }` with the rule the file holds (paths resolve from `cwd`). A file
 * calibrated for other decomposers is refused: its threshold means nothing for these.
 */
export async function loadChainRoutes<T extends Chain>(chains: readonly T[], cwd: string): Promise<T[]> {
  return Promise.all(
    chains.map(async (chain) => {
      const route = chain.route;
      if (route === undefined || !('file' in route)) return chain;
      const file = resolve(cwd, route.file);
      const loaded = await readRouteFile(file, `route file of chain "${chain.name}"`);
      return { ...chain, route: loadedRoute(chain, route.file, loaded) };
    }),
  );
}
