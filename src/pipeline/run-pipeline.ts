/**
 * `dnc run`'s engine: loads and checks the pipeline (every check before any work), takes the run
 * directory's lock, then runs data → collect → filter → train → export → eval. Each unit of each
 * stage is
 *
 *   - skipped when its last execution finished with the same input hash (settings + input file
 *     hashes) and its output files still have the hashes recorded then;
 *   - resumed when its last execution with the same input hash stopped before finishing (a kill, a
 *     crash): collection continues its journals, training its newest checkpoint, eval its traces;
 *   - run afresh otherwise, or when forced (`force`, or a stage at or after `from`).
 *
 * run.json is rewritten atomically at every unit start and end, so a killed run says where it was.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors/user-error.js';
import { join } from 'node:path';
import { reportSchema, type Report } from '../eval/report-schema.js';
import { reportFileNames } from '../eval/write-reports.js';
import { defaults } from '../config/defaults.js';
import { hashFile, hashValue } from './content-hash.js';
import { loadPipeline, type LoadedPipeline, type LoadPipelineOptions } from './load-pipeline.js';
import { lockRunDirectory } from './run-lock.js';
import {
  emptyStage,
  readRunManifest,
  runFileName,
  stageNames,
  writeRunManifest,
  type RunManifest,
  type StageName,
  type UnitEntry,
} from './run-manifest.js';
import {
  stageDirectoryOf,
  type PipelineContext,
  type StageDefinition,
  type UnitOutcome,
  type UnitPlan,
  type UnitProgress,
} from './stage.js';
import { collectStage } from './stages/collect-stage.js';
import { dataStage } from './stages/data-stage.js';
import { evalStage } from './stages/eval-stage.js';
import { exportStage } from './stages/export-stage.js';
import { filterStage } from './stages/filter-stage.js';
import { trainStage } from './stages/train-stage.js';
import { packageVersions } from './versions.js';

export const pipelineStages: readonly StageDefinition[] = [
  dataStage,
  collectStage,
  filterStage,
  trainStage,
  exportStage,
  evalStage,
];

export type UnitAction = 'ran' | 'resumed' | 'skipped';
/** `none`: the stage has nothing to do in this pipeline (no students, no eval). */
export type StageAction = UnitAction | 'none';

export interface UnitResult {
  action: UnitAction;
  seconds: number;
  spentUsd: number;
  savedUsd: number;
  summary: Record<string, unknown>;
}

export interface StageResult {
  action: StageAction;
  /** Wall time of this stage in this invocation. */
  seconds: number;
  /** Dollars spent and saved in this invocation (0 for a skipped stage). */
  spentUsd: number;
  savedUsd: number;
  outputs: Record<string, string>;
  units: Record<string, UnitResult>;
}

export type PipelineEvent =
  | { type: 'stage-start'; stage: StageName; index: number; count: number; units: string[] }
  | { type: 'unit-start'; stage: StageName; unit: string; action: 'ran' | 'resumed' }
  | { type: 'unit-progress'; stage: StageName; unit: string; progress: UnitProgress }
  | { type: 'unit-log'; stage: StageName; unit: string; message: string }
  | { type: 'unit-done'; stage: StageName; unit: string; result: UnitResult }
  | { type: 'stage-done'; stage: StageName; result: StageResult };

export interface RunPipelineOptions extends LoadPipelineOptions {
  file: string;
  /** Rerun this stage and every later one. */
  from?: StageName;
  /** Rerun every stage. */
  force?: boolean;
  onEvent?: (event: PipelineEvent) => void;
}

export interface PipelineResult {
  /** The run directory. */
  run: string;
  seconds: number;
  stages: Record<StageName, StageResult>;
  /** The eval report (report.json), when the pipeline has an eval. */
  report?: Report;
  reportFiles?: { json: string; markdown: string; html: string };
  manifest: RunManifest;
  loaded: LoadedPipeline;
}

function seedsOf(loaded: LoadedPipeline): Record<string, number> {
  const seeds: Record<string, number> = {};
  for (const dataset of loaded.pipeline.datasets)
    if ('seed' in dataset) seeds[`dataset:${dataset.name}`] = dataset.seed;
  for (const dataset of loaded.eval?.datasets ?? [])
    if ('seed' in dataset) seeds[`eval:${dataset.name}`] = dataset.seed;
  for (const student of loaded.students) {
    const seed = student.resolvedPreset?.training.seed ?? student.seed;
    if (seed !== undefined) seeds[`student:${student.name}`] = seed;
  }
  if (loaded.eval !== undefined) seeds['eval:bootstrap'] = defaults.eval.bootstrapSeed;
  return seeds;
}

async function openManifest(loaded: LoadedPipeline): Promise<RunManifest> {
  const file = join(loaded.runDirectory, runFileName);
  const previous = await readRunManifest(file);
  const now = new Date().toISOString();
  return {
    version: 1,
    name: loaded.pipeline.name,
    pipelineFile: loaded.file,
    pipelineHash: loaded.hash,
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    dollars: previous?.dollars ?? { spentUsd: 0, savedUsd: 0 },
    seeds: seedsOf(loaded),
    versions: await packageVersions(),
    stages:
      previous?.stages ??
      (Object.fromEntries(stageNames.map((name) => [name, emptyStage()])) as RunManifest['stages']),
  };
}

async function hashesByLabel(files: Record<string, string>): Promise<Record<string, string | null>> {
  const hashes: Record<string, string | null> = {};
  for (const [label, file] of Object.entries(files)) hashes[label] = (await hashFile(file)) ?? null;
  return hashes;
}

async function outputsIntact(entry: UnitEntry): Promise<boolean> {
  const current = await hashesByLabel(entry.outputs);
  return Object.entries(entry.outputHashes).every(([label, hash]) => current[label] === hash);
}

/** The error of a unit, prefixed with where it happened (a UserError stays one). */
function stageError(stage: StageName, unit: string, error: unknown): Error {
  const where = stage === unit ? stage : `${stage} (${unit})`;
  const message = `${where}: ${error instanceof Error ? error.message : String(error)}`;
  if (error instanceof UserError) return new UserError(message, { exitCode: error.exitCode, cause: error });
  return new Error(message, { cause: error });
}

class PipelineRunner {
  readonly manifestFile: string;
  readonly context: PipelineContext;

  constructor(
    readonly loaded: LoadedPipeline,
    readonly manifest: RunManifest,
    readonly options: RunPipelineOptions,
  ) {
    this.manifestFile = join(loaded.runDirectory, runFileName);
    this.context = {
      loaded,
      env: options.env ?? process.env,
      stageDirectory: (stage) => stageDirectoryOf(loaded.runDirectory, stage),
    };
  }

  save(): Promise<void> {
    return writeRunManifest(this.manifestFile, this.manifest);
  }

  isForced(stage: StageName): boolean {
    if (this.options.force === true) return true;
    return (
      this.options.from !== undefined && stageNames.indexOf(stage) >= stageNames.indexOf(this.options.from)
    );
  }

  async runUnit(stage: StageName, plan: UnitPlan, previous: UnitEntry | undefined): Promise<UnitResult> {
    const inputHash = hashValue({ settings: plan.settings, inputs: await hashesByLabel(plan.inputs) });
    const forced = this.isForced(stage);
    const entries = this.manifest.stages[stage].units;
    const unchanged = previous?.inputHash === inputHash;
    if (
      !forced &&
      unchanged &&
      previous?.status === 'done' &&
      previous.incomplete === undefined &&
      (await outputsIntact(previous))
    ) {
      entries[plan.id] = previous;
      return { action: 'skipped', seconds: 0, spentUsd: 0, savedUsd: 0, summary: previous.summary };
    }
    const resume = !forced && unchanged && previous !== undefined && previous.status !== 'done';
    const action = resume ? 'resumed' : 'ran';
    const emit = this.options.onEvent ?? (() => undefined);
    emit({ type: 'unit-start', stage, unit: plan.id, action });
    const startedAt = new Date();
    const entry: UnitEntry = {
      status: 'running',
      inputHash,
      startedAt: startedAt.toISOString(),
      finishedAt: null,
      seconds: null,
      outputs: {},
      outputHashes: {},
      spentUsd: 0,
      savedUsd: 0,
      summary: {},
    };
    entries[plan.id] = entry;
    await this.save();
    let outcome: UnitOutcome;
    try {
      outcome = await plan.run({
        resume,
        progress: (progress) => emit({ type: 'unit-progress', stage, unit: plan.id, progress }),
        log: (message) => emit({ type: 'unit-log', stage, unit: plan.id, message }),
      });
    } catch (error) {
      Object.assign(entry, {
        status: 'failed',
        error: (error as Error).message,
        finishedAt: new Date().toISOString(),
      });
      await this.save();
      throw stageError(stage, plan.id, error);
    }
    const seconds = (Date.now() - startedAt.getTime()) / 1000;
    const outputHashes = await hashesByLabel(outcome.outputs);
    const missing = Object.entries(outputHashes).find(([, hash]) => hash === null);
    if (missing !== undefined)
      throw new Error(`stage ${stage} (${plan.id}) did not write its output ${outcome.outputs[missing[0]]}`);
    Object.assign(entry, {
      status: 'done',
      finishedAt: new Date().toISOString(),
      seconds,
      outputs: outcome.outputs,
      outputHashes: outputHashes as Record<string, string>,
      spentUsd: outcome.spentUsd,
      savedUsd: outcome.savedUsd,
      summary: outcome.summary,
      ...(outcome.incomplete === undefined ? {} : { incomplete: outcome.incomplete }),
    });
    this.manifest.dollars.spentUsd += outcome.spentUsd;
    this.manifest.dollars.savedUsd += outcome.savedUsd;
    await this.save();
    const result: UnitResult = {
      action,
      seconds,
      spentUsd: outcome.spentUsd,
      savedUsd: outcome.savedUsd,
      summary: outcome.summary,
    };
    emit({ type: 'unit-done', stage, unit: plan.id, result });
    return result;
  }

  async runStage(definition: StageDefinition, index: number): Promise<StageResult> {
    const stage = definition.name;
    const started = performance.now();
    const plans = await definition.plan(this.context);
    this.options.onEvent?.({
      type: 'stage-start',
      stage,
      index,
      count: pipelineStages.length,
      units: plans.map((plan) => plan.id),
    });
    const entry = this.manifest.stages[stage];
    const previousUnits = entry.units;
    // Units no longer in the pipeline are dropped; the others keep their entries until they run,
    // so a failure in one unit does not make the next run redo the units after it.
    entry.units = Object.fromEntries(
      plans.flatMap((plan) =>
        previousUnits[plan.id] === undefined ? [] : [[plan.id, previousUnits[plan.id]!]],
      ),
    );
    const units: Record<string, UnitResult> = {};
    for (const plan of plans) units[plan.id] = await this.runUnit(stage, plan, previousUnits[plan.id]);
    const results = Object.values(units);
    const action: StageAction =
      results.length === 0
        ? 'none'
        : results.every((unit) => unit.action === 'skipped')
          ? 'skipped'
          : results.some((unit) => unit.action === 'resumed')
            ? 'resumed'
            : 'ran';
    const seconds = (performance.now() - started) / 1000;
    const outputs: Record<string, string> = {};
    for (const [id, unit] of Object.entries(entry.units))
      for (const [label, file] of Object.entries(unit.outputs))
        outputs[plans.length === 1 ? label : `${id}:${label}`] = file;
    const unitEntries = Object.values(entry.units);
    Object.assign(entry, {
      status: 'done',
      inputHash: hashValue(
        Object.fromEntries(Object.entries(entry.units).map(([id, unit]) => [id, unit.inputHash])),
      ),
      outputs,
      spentUsd: unitEntries.reduce((sum, unit) => sum + unit.spentUsd, 0),
      savedUsd: unitEntries.reduce((sum, unit) => sum + unit.savedUsd, 0),
      ...(action === 'skipped'
        ? {}
        : {
            startedAt: new Date(Date.now() - seconds * 1000).toISOString(),
            finishedAt: new Date().toISOString(),
            seconds,
          }),
    });
    await this.save();
    const result: StageResult = {
      action,
      seconds,
      spentUsd: results.reduce((sum, unit) => sum + unit.spentUsd, 0),
      savedUsd: results.reduce((sum, unit) => sum + unit.savedUsd, 0),
      outputs,
      units,
    };
    this.options.onEvent?.({ type: 'stage-done', stage, result });
    return result;
  }
}

async function readReport(directory: string): Promise<Report> {
  const file = join(directory, reportFileNames.json);
  return reportSchema.parse(JSON.parse(await readFile(file, 'utf8')));
}

/** Runs (or resumes) a pipeline; every pipeline-file problem is a UserError thrown before any work. */
export async function runPipeline(options: RunPipelineOptions): Promise<PipelineResult> {
  const started = performance.now();
  const loaded = await loadPipeline(options.file, options);
  const release = await lockRunDirectory(loaded.runDirectory);
  try {
    const manifest = await openManifest(loaded);
    const runner = new PipelineRunner(loaded, manifest, options);
    await runner.save();
    const stages = {} as Record<StageName, StageResult>;
    for (const [index, definition] of pipelineStages.entries()) {
      manifest.stages[definition.name].status = 'running';
      stages[definition.name] = await runner.runStage(definition, index).catch(async (error: unknown) => {
        manifest.stages[definition.name].status = 'failed';
        await runner.save();
        throw error;
      });
    }
    const evalDirectory = stageDirectoryOf(loaded.runDirectory, 'eval');
    const report = loaded.eval === undefined ? undefined : await readReport(evalDirectory);
    return {
      run: loaded.runDirectory,
      seconds: (performance.now() - started) / 1000,
      stages,
      ...(report === undefined
        ? {}
        : {
            report,
            reportFiles: {
              json: join(evalDirectory, reportFileNames.json),
              markdown: join(evalDirectory, reportFileNames.markdown),
              html: join(evalDirectory, reportFileNames.html),
            },
          }),
      manifest,
      loaded,
    };
  } finally {
    await release();
  }
}
