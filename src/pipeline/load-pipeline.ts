/**
 * Reads a pipeline file and checks everything that can be checked before any work starts: the
 * schema (strict), every dataset file (present and readable), the student presets and their
 * overrides, the eval suite (a file or inline) and its brick specs, `student:NAME` references
 * (resolved to the student's exported brick directory), and the environment a remote teacher or
 * brick needs. Every problem is a UserError naming the pipeline file and the key or file.
 */
import { access } from 'node:fs/promises';
import { readJsonFile } from '../data/json-file.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { chainDecomposers, type Chain } from '../data/schemas.js';
import { formatZodError } from '../data/zod-format.js';
import { parseBrickSpec } from '../runtime/bricks/brick-spec.js';
import { loadPreset, studentPresetSchema, type StudentPreset } from '../student/config.js';
import { hashValue } from './content-hash.js';
import {
  inlineSuiteSchema,
  pipelineSchema,
  type InlineSuite,
  type Pipeline,
  type PipelineDataset,
  type PipelineStudent,
} from './pipeline-schema.js';

export const studentSpecPrefix = 'student:';

export interface ResolvedStudent extends PipelineStudent {
  /** The preset with the pipeline's training overrides applied (none for an `openai` student). */
  resolvedPreset?: StudentPreset;
}

export interface ResolvedEval {
  name: string;
  /** Where the suite came from: its file, or `inline`. */
  source: string;
  datasets: PipelineDataset[];
  /** Chains with `student:NAME` replaced by the student's brick directory. */
  chains: Chain[];
  limit?: number;
  concurrency?: number;
  prices?: Record<string, { inputPerMillion: number; outputPerMillion: number }>;
}

export interface LoadedPipeline {
  file: string;
  pipeline: Pipeline;
  /** sha256 of the validated pipeline (canonical JSON): formatting does not change it. */
  hash: string;
  /** `RUNS/<name>`, absolute. */
  runDirectory: string;
  /** Resolves relative dataset files and brick directories. */
  cwd: string;
  students: ResolvedStudent[];
  /** Names of the students the export stage exports. */
  exported: string[];
  eval?: ResolvedEval;
}

export interface LoadPipelineOptions {
  cwd?: string;
  /** Parent of run directories (default `runs`, from cwd). */
  runsDirectory?: string;
  env?: NodeJS.ProcessEnv;
}

/** The brick directory of an exported student, as eval chains name it. */
export function studentBrickDirectory(runDirectory: string, student: string): string {
  return join(runDirectory, 'export', student);
}

function readPipelineJson(file: string): Promise<unknown> {
  return readJsonFile(file, { what: 'pipeline file', missingHint: 'try pipelines/quickstart.json' });
}

async function checkDatasetFiles(
  datasets: readonly PipelineDataset[],
  key: string,
  cwd: string,
  fail: (message: string) => never,
): Promise<void> {
  for (const [index, dataset] of datasets.entries()) {
    if (!('file' in dataset)) continue;
    try {
      await access(resolve(cwd, dataset.file));
    } catch {
      fail(
        `${key}[${index}] "${dataset.name}": dataset file not found: ${dataset.file} ` +
          `(paths resolve from ${cwd}; the dataset cards in datasets/*/README.md say where to download each dataset)`,
      );
    }
  }
}

async function resolveStudent(
  student: PipelineStudent,
  index: number,
  fail: (message: string) => never,
): Promise<ResolvedStudent> {
  const key = `students[${index}] "${student.name}"`;
  // A remote student (backend openai) is trained by the service: no preset (pipeline-schema.ts checks it).
  if (student.backend === 'openai' || student.preset === undefined) return { ...student };
  let preset: StudentPreset;
  try {
    preset = await loadPreset(student.preset);
  } catch (error) {
    fail(`${key}.preset: ${(error as Error).message}`);
  }
  const {
    name: _name,
    role: _role,
    preset: _preset,
    vocabSize: _vocab,
    longExamples: _long,
    promptFormat: _promptFormat,
    decoding: _decoding,
    nameCopies: _nameCopies,
    backend: _backend,
    base: _base,
    suffix: _suffix,
    maxUsd: _maxUsd,
    pollIntervalMs: _pollIntervalMs,
    patience: _patience,
    minDelta: _minDelta,
    allowSmallData: _allowSmallData,
    deterministic: _deterministic,
    microBatchSize: _microBatchSize,
    dataParallel: _dataParallel,
    ...overrides
  } = student;
  const merged = studentPresetSchema.safeParse({ ...preset, training: { ...preset.training, ...overrides } });
  if (!merged.success)
    fail(`${key}: the preset with these overrides is invalid: ${formatZodError(merged.error)}`);
  return { ...student, resolvedPreset: merged.data };
}

function needsRemoteEnvironment(spec: string): boolean {
  return spec.startsWith('openai:');
}

function checkRemoteEnvironment(
  specs: readonly string[],
  env: NodeJS.ProcessEnv,
  fail: (m: string) => never,
): void {
  const remote = specs.find(needsRemoteEnvironment);
  if (remote === undefined || env.OPENAI_API_KEY !== undefined || env.OPENAI_BASE_URL !== undefined) return;
  fail(
    `${remote} needs OPENAI_API_KEY (for the OpenAI API) or OPENAI_BASE_URL (for another OpenAI-compatible ` +
      'server such as vLLM, Ollama or llama.cpp); set them in the environment, or use the reference teacher',
  );
}

function resolveChainSpec(
  spec: string,
  slot: 'decomposer' | 'solver',
  key: string,
  students: readonly ResolvedStudent[],
  exported: readonly string[],
  runDirectory: string,
  cwd: string,
  fail: (message: string) => never,
): string {
  if (!spec.startsWith(studentSpecPrefix)) {
    try {
      const parsed = parseBrickSpec(spec);
      if (slot === 'solver' && parsed.kind === 'gold')
        fail(`${key}: 'gold' is a decomposer only; pick a solver brick`);
    } catch (error) {
      if (error instanceof UserError) throw error;
      fail(`${key}: ${(error as Error).message} (or student:NAME for a student of this pipeline)`);
    }
    return spec;
  }
  const name = spec.slice(studentSpecPrefix.length);
  const student = students.find((candidate) => candidate.name === name);
  if (student === undefined)
    fail(
      `${key}: "${spec}" names no student of this pipeline (students: ${students.map((s) => s.name).join(', ') || 'none'})`,
    );
  if (student.role !== slot)
    fail(`${key}: student "${name}" is trained as a ${student.role}, so it cannot be this chain's ${slot}`);
  if (!exported.includes(name)) fail(`${key}: student "${name}" is not exported (add it to export.students)`);
  return brickSpecPath(studentBrickDirectory(runDirectory, name), cwd);
}

/** A brick directory as a chain names it: relative to the working directory when inside it. */
function brickSpecPath(directory: string, cwd: string): string {
  const relativePath = relative(cwd, directory);
  return relativePath.startsWith('..') || isAbsolute(relativePath) ? directory : relativePath;
}

/**
 * A suite file read with the pipeline's suite schema rather than `loadSuite`, so that its chains
 * may name `student:NAME` and its file datasets a `format`.
 */
async function readSuiteFile(
  file: string,
  cwd: string,
  fail: (message: string) => never,
): Promise<InlineSuite> {
  const value = await readJsonFile(resolve(cwd, file), {
    what: 'suite file',
    missingHint: `paths resolve from ${cwd}`,
    error: (message) => fail(`eval: ${message}`),
  });
  const parsed = inlineSuiteSchema.safeParse(value);
  if (!parsed.success) fail(`eval: suite ${file}: ${formatZodError(parsed.error)}`);
  return parsed.data as InlineSuite;
}

async function resolveEval(
  pipeline: Pipeline,
  context: {
    file: string;
    cwd: string;
    runDirectory: string;
    students: ResolvedStudent[];
    exported: string[];
  },
  fail: (message: string) => never,
): Promise<ResolvedEval | undefined> {
  const evaluation = pipeline.eval;
  if (evaluation === undefined) return undefined;
  const inline =
    typeof evaluation === 'string' ? await readSuiteFile(evaluation, context.cwd, fail) : evaluation;
  const suite = {
    ...inline,
    name: inline.name ?? pipeline.name,
    source: typeof evaluation === 'string' ? evaluation : 'inline',
  };
  await checkDatasetFiles(suite.datasets, 'eval.datasets', context.cwd, fail);
  const chains = suite.chains.map((chain, index) => {
    const resolveSlot = (slot: 'decomposer' | 'solver', spec: string) =>
      resolveChainSpec(
        spec,
        slot,
        `eval.chains[${index}] "${chain.name}".${slot}`,
        context.students,
        context.exported,
        context.runDirectory,
        context.cwd,
        fail,
      );
    return {
      ...chain,
      solver: resolveSlot('solver', chain.solver),
      ...(chain.decomposer === undefined
        ? {}
        : {
            decomposer: Array.isArray(chain.decomposer)
              ? chain.decomposer.map((spec) => resolveSlot('decomposer', spec))
              : resolveSlot('decomposer', chain.decomposer),
          }),
    };
  });
  const names = chains.map((chain) => chain.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) fail(`eval.chains: two chains are named "${duplicate}"`);
  const datasetNames = suite.datasets.map((dataset) => dataset.name);
  const duplicateDataset = datasetNames.find((name, index) => datasetNames.indexOf(name) !== index);
  if (duplicateDataset !== undefined) fail(`eval.datasets: two datasets are named "${duplicateDataset}"`);
  return { ...suite, chains };
}

export async function loadPipeline(file: string, options: LoadPipelineOptions = {}): Promise<LoadedPipeline> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const fail = (message: string): never => {
    throw new UserError(`pipeline ${file}: ${message}`);
  };
  const parsed = pipelineSchema.safeParse(await readPipelineJson(resolve(cwd, file)));
  if (!parsed.success) fail(formatZodError(parsed.error));
  const pipeline = parsed.data as Pipeline;
  const runDirectory = resolve(cwd, options.runsDirectory ?? 'runs', pipeline.name);
  await checkDatasetFiles(pipeline.datasets, 'datasets', cwd, fail);
  if (pipeline.teacher.startsWith('replay:')) {
    const replay = pipeline.teacher.slice('replay:'.length);
    await access(resolve(cwd, replay)).catch(() => fail(`teacher: replay file not found: ${replay}`));
  } else if (!/^(reference|gold|openai:.+)$/.test(pipeline.teacher)) {
    fail(`teacher: unknown teacher '${pipeline.teacher}': use reference, gold, replay:FILE or openai:MODEL`);
  }
  const students: ResolvedStudent[] = [];
  for (const [index, student] of pipeline.students.entries())
    students.push(await resolveStudent(student, index, fail));
  const exported = pipeline.export?.students ?? students.map((student) => student.name);
  const evaluation = await resolveEval(pipeline, { file, cwd, runDirectory, students, exported }, fail);
  const chainSpecs = (evaluation?.chains ?? []).flatMap((chain) => [
    chain.solver,
    ...chainDecomposers(chain),
  ]);
  const remoteStudents = students
    .filter((student) => student.backend === 'openai')
    .map((student) => `openai:${student.base}`);
  checkRemoteEnvironment([pipeline.teacher, ...chainSpecs, ...remoteStudents], env, fail);
  return {
    file,
    pipeline,
    hash: hashValue(pipeline),
    runDirectory,
    cwd,
    students,
    exported,
    eval: evaluation,
  };
}
