/**
 * What a pipeline stage is to the orchestrator: a list of units, each with its settings and input
 * files (which decide its input hash) and a `run` that produces output files. The orchestrator
 * decides per unit whether to skip it (same input hash, outputs intact), resume it (an earlier
 * execution with the same input hash did not finish) or run it afresh.
 */
import { join } from 'node:path';
import type { LoadedPipeline } from './load-pipeline.js';
import type { StageName } from './run-manifest.js';

export interface UnitProgress {
  done: number;
  total: number;
  /** Extra fields shown after the rate (dollars, loss, ...). */
  extra?: Record<string, string | number>;
}

export interface UnitRunContext {
  /** An earlier execution with the same input hash stopped before finishing: continue it. */
  resume: boolean;
  /** Reports progress of long work (drawn on stderr when it is a terminal). */
  progress(progress: UnitProgress): void;
  /** A line for a person on stderr. */
  log(message: string): void;
}

export interface UnitOutcome {
  /** Output files by label; their content hashes are recorded and checked before a skip. */
  outputs: Record<string, string>;
  spentUsd: number;
  savedUsd: number;
  summary: Record<string, unknown>;
  /** Set when the unit finished but should be retried by the next run (failed teacher requests). */
  incomplete?: string;
}

export interface UnitPlan {
  /** Unique within its stage (the stage name, or a student's name). */
  id: string;
  /** Everything besides the input files that decides the outputs (hashed as canonical JSON). */
  settings: unknown;
  /** Input files by label; their content hashes are part of the input hash. */
  inputs: Record<string, string>;
  run(context: UnitRunContext): Promise<UnitOutcome>;
}

export interface PipelineContext {
  loaded: LoadedPipeline;
  env: NodeJS.ProcessEnv;
  /** `RUN/<stage>`: each stage writes only inside its own folder. */
  stageDirectory(stage: StageName): string;
}

export interface StageDefinition {
  name: StageName;
  /** Called when the stage starts, after the stages before it have finished. */
  plan(context: PipelineContext): Promise<UnitPlan[]>;
}

export function stageDirectoryOf(runDirectory: string, stage: StageName): string {
  return join(runDirectory, stage);
}
