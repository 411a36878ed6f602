/**
 * `DIR/eval-state.json`: what the traces in an eval directory were computed with — the run id
 * (which owns the brick calls it pays for, see `brick-cache.ts`), each chain's definition and
 * the price table. A resume with the same chains and prices continues the run; a chain whose
 * definition changed under the same name, or changed prices, would mix old and new traces in
 * one report, so it is refused with a hint (`--rerun`, or another `--out`).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { chainSchema, type Chain } from '../data/schemas.js';
import { formatZodError } from '../data/zod-format.js';
import type { PriceTable } from '../teacher/pricing.js';
import { canonicalJson, infinityAsString } from './brick-cache.js';

export const evalStateFileName = 'eval-state.json';
export const tracesFileName = 'traces.jsonl';

const priceSchema = z.strictObject({ inputPerMillion: z.number(), outputPerMillion: z.number() });

export const evalStateSchema = z.strictObject({
  runId: z.string().min(1),
  suite: z.string().min(1),
  chains: z.record(z.string(), chainSchema),
  prices: z.record(z.string(), priceSchema),
  createdAt: z.string(),
});
export type EvalState = z.infer<typeof evalStateSchema>;

async function readState(file: string): Promise<EvalState | undefined> {
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(
      `${file}: invalid JSON (${(error as Error).message}); remove it and rerun with --rerun`,
    );
  }
  const parsed = evalStateSchema.safeParse(value);
  if (!parsed.success)
    throw new UserError(`${file}: ${formatZodError(parsed.error)}; remove it and rerun with --rerun`);
  return parsed.data;
}

function conflicts(state: EvalState, chains: readonly Chain[], prices: PriceTable): string[] {
  const problems: string[] = [];
  for (const chain of chains) {
    const before = state.chains[chain.name];
    if (before !== undefined && canonicalJson(before) !== canonicalJson(chain))
      problems.push(`chain "${chain.name}" was ${canonicalJson(before)} and is now ${canonicalJson(chain)}`);
  }
  if (canonicalJson(state.prices) !== canonicalJson(prices)) problems.push('the price table changed');
  return problems;
}

/**
 * Opens (or starts) the eval run in `directory`. With `rerun`, earlier traces are deleted and
 * a new run id is drawn: every example is computed again, its brick calls served by the cache.
 */
export async function openEvalState(
  directory: string,
  input: { suite: string; chains: readonly Chain[]; prices: PriceTable; rerun?: boolean },
): Promise<EvalState> {
  const file = join(directory, evalStateFileName);
  const traces = join(directory, tracesFileName);
  if (input.rerun === true) await rm(traces, { force: true });
  const previous = input.rerun === true ? undefined : await readState(file);
  if (previous === undefined && input.rerun !== true && existsSync(traces))
    throw new UserError(
      `${traces} exists but ${file} does not, so what those traces were computed with is unknown; ` +
        'use another --out, or --rerun to start over (cached brick calls are still reused)',
    );
  if (previous !== undefined) {
    const problems = conflicts(previous, input.chains, input.prices);
    if (problems.length > 0)
      throw new UserError(
        `${directory} holds traces from a different suite setup (${problems.join('; ')}); ` +
          'use another --out, or --rerun to recompute every example (cached brick calls are still reused)',
      );
  }
  const state: EvalState = {
    runId: previous?.runId ?? randomUUID(),
    suite: input.suite,
    chains: {
      ...previous?.chains,
      ...Object.fromEntries(input.chains.map((chain) => [chain.name, chain])),
    },
    prices: { ...input.prices },
    createdAt: previous?.createdAt ?? new Date().toISOString(),
  };
  await writeFileAtomic(file, `${JSON.stringify(state, infinityAsString, 2)}\n`);
  return state;
}
