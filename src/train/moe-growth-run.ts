/**
 * `dnc train --grow-experts N --from CHECKPOINT`: a run that grows a mixture-of-experts student
 * (src/student/moe-growth.ts). The run directory gets the old student's tokenizer (the new data is
 * tokenized as the old student was) and `growth.json`, which says where it grew from and which
 * experts are new, so that --resume rebuilds the same run. Its checkpoints hold every weight of
 * the grown student (frozen ones included, with zero AdamW moments), so `dnc export`, --resume
 * and the best-checkpoint restore read them as any full checkpoint.
 */
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { formatZodError } from '../data/zod-format.js';
import { optimizerNames } from '../engine/optimizer.js';
import { readCheckpoint } from '../export/checkpoint.js';
import { type StudentArchitecture } from '../student/config.js';
import { frozenGrowthValues, growArchitecture, growthSpecs, grownWeights } from '../student/moe-growth.js';
import { tokenizerConfigFileName, tokenizerFileName } from '../tokenizer/tokenizer-files.js';
import { weightsHash } from '../student/pretrained-base.js';

export const growthFileName = 'growth.json';

const growthRecordSchema = z.strictObject({
  /** The checkpoint grown from (absolute). */
  from: z.string().min(1),
  /** sha256 over the old student's weights (src/student/pretrained-base.ts weightsHash). */
  weightsHash: z.string().min(1),
  oldExperts: z.number().int().positive(),
  addedExperts: z.number().int().positive(),
  /** The preset whose training defaults the run uses. */
  preset: z.string().min(1),
  /**
   * The old student's decoding facts (its checkpoint manifest's answer terms, word associations and
   * longest answer): the grown student answers the old data too, so its own are merged with these
   * (absent in growth runs written before they were recorded).
   */
  oldAnswerFacts: z
    .strictObject({
      longestAnswerTokens: z.number().int().nonnegative(),
      answerTerms: z.array(z.string().min(1)),
      answerAssociations: z.record(z.string(), z.array(z.string().min(1))),
    })
    .optional(),
});

export type GrowthRecord = z.infer<typeof growthRecordSchema>;

export interface GrowthRun {
  record: GrowthRecord;
  /** The frozen inputs' values (old weights and the routers' old rows). */
  frozen: Map<string, Float32Array>;
  /** The old student's weights (fresh run) or the grown checkpoint's (resume). */
  weights: Map<string, Float32Array>;
}

/** Starts a growth run: reads the old checkpoint, copies its tokenizer, writes growth.json. */
export async function startGrowth(
  from: string,
  added: number,
  outDirectory: string,
  presetOverride: string | undefined,
): Promise<{ growth: GrowthRun; architecture: StudentArchitecture }> {
  const old = await readCheckpoint(from);
  if (old.architecture.moe === undefined)
    throw new UserError(
      `--from ${from}: the student has no mixture-of-experts layers to grow; train one with a preset that sets architecture.moe (e.g. students/moe-nano.json)`,
    );
  const preset = presetOverride ?? old.lineage.training.preset;
  if (typeof preset !== 'string')
    throw new UserError(
      `--from ${from}: the checkpoint names no preset; give the training defaults with --preset`,
    );
  for (const file of [tokenizerFileName, tokenizerConfigFileName])
    await copyFile(join(old.tokenizerDirectory, file), join(outDirectory, file));
  const record: GrowthRecord = {
    from: resolve(from),
    weightsHash: weightsHash(old.architecture, old.weights),
    oldExperts: old.architecture.moe.experts,
    addedExperts: added,
    preset,
    oldAnswerFacts: {
      longestAnswerTokens: Number(old.metrics.longestAnswerTokens ?? 0),
      answerTerms: old.answerTerms,
      answerAssociations: old.answerAssociations,
    },
  };
  await writeFileAtomic(join(outDirectory, growthFileName), `${JSON.stringify(record, null, 2)}\n`);
  const architecture = growArchitecture(old.architecture, added);
  return {
    growth: {
      record,
      weights: old.weights,
      frozen: frozenGrowthValues(old.weights, architecture, record.oldExperts),
    },
    architecture,
  };
}

/** The growth record of a run directory, or undefined when the run is not a growth run. */
export async function readGrowthRecord(outDirectory: string): Promise<GrowthRecord | undefined> {
  const file = join(outDirectory, growthFileName);
  if (!(await stat(file).catch(() => undefined))) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file}: invalid JSON (${(error as Error).message}); the run directory is damaged`, {
      cause: error,
    });
  }
  const parsed = growthRecordSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(
      `${file}: invalid growth record: ${formatZodError(parsed.error)}; the run directory is damaged`,
    );
  return parsed.data;
}

/** A resumed growth run: the frozen inputs come from the checkpoint's own (unchanged) old weights. */
export function resumeGrowth(
  record: GrowthRecord,
  architecture: StudentArchitecture,
  weights: Map<string, Float32Array>,
): GrowthRun {
  return { record, weights, frozen: frozenGrowthValues(weights, architecture, record.oldExperts) };
}

/** Every weight of the grown student, for checkpoints and the export. */
export function growthCheckpointWeights(
  growth: GrowthRun,
  trained: ReadonlyMap<string, Float32Array>,
  architecture: StudentArchitecture,
): Map<string, Float32Array> {
  return grownWeights(growth.frozen, trained, architecture);
}

/** The trainer's AdamW moments plus zero moments for the frozen weights (never updated). */
export function growthCheckpointMoments(
  growth: GrowthRun,
  moments: ReadonlyMap<string, Float32Array>,
  architecture: StudentArchitecture,
): Map<string, Float32Array> {
  const all = new Map(moments);
  for (const spec of growthSpecs(architecture, growth.record.oldExperts).frozen) {
    if (spec.name.endsWith('.gate.frozen_rows')) continue;
    const size = spec.shape.reduce((product, dimension) => product * dimension, 1);
    all.set(optimizerNames.firstMoment(spec.name), new Float32Array(size));
    all.set(optimizerNames.secondMoment(spec.name), new Float32Array(size));
  }
  return all;
}
