/**
 * Everything a training run needs before its first step: the preset and settings, the data (read,
 * split, encoded), the tokenizer (trained on the training texts for a new run, read from the run
 * directory on resume) and, on resume, the checkpoint to continue from. Inconsistent requests
 * (resuming with another preset or other data, or starting over a run that exists) fail here with
 * a message that says what to do.
 */
import { type TrainingProgressReporter } from './training-progress.js';
import { mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { type BrickRole } from '../bricks/brick-manifest.js';
import { type ChatExample } from '../data/schemas.js';
import { applyPromptStyleToExample, detectPromptStyle } from '../prompts/index.js';
import { loadPreset, type StudentArchitecture } from '../student/config.js';
import { trainBpe } from '../tokenizer/bpe-trainer.js';
import { tokenizerFileName, writeTokenizerFiles } from '../tokenizer/tokenizer-files.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import {
  encodeExamples,
  type EncodedSet,
  readChatData,
  splitValidation,
  tokenizerTexts,
} from './chat-dataset.js';
import {
  findLatestCheckpoint,
  readTrainingCheckpoint,
  removeStagingLeftovers,
  type TrainingCheckpoint,
} from './training-checkpoint.js';
import { renamedCopies } from './name-copies.js';
import {
  type BaseReference,
  loadBase,
  type LoadedBase,
  pretrainedPreset,
} from '../student/pretrained-base.js';
import { type LoraSettings } from '../student/lora.js';
import { writePretrainedTokenizerFiles } from '../tokenizer/pretrained-tokenizer-files.js';
import { type GrowthRun, readGrowthRecord, resumeGrowth, startGrowth } from './moe-growth-run.js';
import { resolveSettings, type TrainingOverrides, type TrainingSettings } from './training-settings.js';

export interface TrainOptions {
  dataFile: string;
  role: BrickRole;
  /** Preset name or path; optional on resume (the checkpoint knows it). */
  preset?: string;
  outDirectory: string;
  resume: boolean;
  overrides: TrainingOverrides;
  /** The teacher the data came from, recorded in the lineage (e.g. `reference`). */
  teacher?: string;
  /** Export a brick here when training ends. */
  exportDirectory?: string;
  /** Aborting it stops the run after the current step, with a checkpoint. */
  signal?: AbortSignal;
  /** Receives each step (default: a log line per evaluation step through `log`). */
  progress?: TrainingProgressReporter;
  /** onnxruntime intra-op threads (default: one per core). */
  threads?: number;
  /** Receives human-readable log lines (default: none). */
  log?: (line: string) => void;
  /** A Hugging Face model directory to fine-tune instead of a preset trained from scratch. */
  base?: string;
  /** A Jinja chat template replacing (or supplying) the base's. */
  chatTemplateFile?: string;
  /** Train a LoRA adapter on the frozen base (needs `base`); absent: full fine-tuning. */
  lora?: LoraSettings;
  /** Grow the mixture-of-experts student of `from` by this many experts per mixture layer. */
  growExperts?: number;
  /** The checkpoint (or run directory) a growth run starts from. */
  from?: string;
}

export interface PreparedRun {
  presetName: string;
  architecture: StudentArchitecture;
  settings: TrainingSettings;
  tokenizer: Tokenizer;
  dataHash: string;
  train: EncodedSet;
  validation: EncodedSet;
  resumeFrom?: TrainingCheckpoint;
  /** The pretrained base, when the run fine-tunes one. */
  base?: LoadedBase;
  /** A growth run (`--grow-experts N --from CHECKPOINT`): what is frozen and where it came from. */
  growth?: GrowthRun;
}

/**
 * Flags a resumed run may change: where it stops (steps, epochs, early stopping, the data floor),
 * the learning rate (e.g. after a divergence), the micro-batch size (the same update in less
 * memory, e.g. after running out of it) and the data-parallel workers (the same update, e.g. on a
 * machine with another core count).
 */
const resumableOverrides = new Set([
  'maxSteps',
  'epochs',
  'learningRate',
  'patience',
  'minDelta',
  'allowSmallData',
  'microBatchSize',
  'dataParallel',
]);

function checkResumeOverrides(overrides: TrainingOverrides, saved: TrainingSettings): TrainingSettings {
  const settings = { ...saved };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const savedValue = key === 'vocabSize' ? saved.requestedVocabSize : saved[key as keyof TrainingSettings];
    if (resumableOverrides.has(key)) Object.assign(settings, { [key]: value });
    else if (savedValue !== value)
      throw new UserError(
        `--resume keeps the run's settings, but ${key} is ${String(value)} here and ${String(savedValue)} in the checkpoint; ` +
          'drop the flag (only --max-steps, --epochs, --learning-rate, --patience, --min-delta, --allow-small-data and --micro-batch-size may change on resume) or train afresh in another --out',
      );
  }
  return settings;
}

async function resumeCheckpoint(options: TrainOptions, dataHash: string): Promise<TrainingCheckpoint> {
  const latest = await findLatestCheckpoint(options.outDirectory);
  if (latest === undefined)
    throw new UserError(
      `--resume: ${options.outDirectory} holds no checkpoint to resume from; run without --resume to start training`,
    );
  const checkpoint = await readTrainingCheckpoint(latest);
  const { state } = checkpoint;
  if (state.dataHash !== dataHash)
    throw new UserError(
      `--resume: ${options.dataFile} is not the data the run in ${options.outDirectory} was trained on ` +
        `(hash ${dataHash} vs ${state.dataHash}); resume with the same --data, or train afresh in another --out`,
    );
  if (state.role !== options.role)
    throw new UserError(
      `--resume: the run in ${options.outDirectory} trains a ${state.role}, not a ${options.role}; fix --role`,
    );
  return checkpoint;
}

async function freshTokenizer(
  options: TrainOptions,
  texts: string[],
  settings: TrainingSettings,
  context: number,
) {
  const model = trainBpe(texts, { vocabSize: settings.requestedVocabSize });
  await writeTokenizerFiles(options.outDirectory, model, { modelMaxLength: context });
  return Tokenizer.load(options.outDirectory);
}

/**
 * The examples in the run's prompt style: `compact` drops the system messages (so an instruct
 * training file trains a compact student); `instruct` needs data that has them.
 */
function styleExamples(
  examples: readonly ChatExample[],
  settings: TrainingSettings,
  dataFile: string,
): ChatExample[] {
  if (settings.promptFormat === 'instruct' && detectPromptStyle(examples) === 'compact')
    throw new UserError(
      `--prompt-format instruct: ${dataFile} has no system messages, so the student would never see the ` +
        'instructions its prompts start with; train with --prompt-format compact (or give instruct data)',
    );
  return examples.map((example) => applyPromptStyleToExample(example, settings.promptFormat));
}

export async function prepareRun(options: TrainOptions): Promise<PreparedRun> {
  const { examples: written, dataHash } = await readChatData(options.dataFile);
  const dataStyle = detectPromptStyle(written);
  let resumeFrom: TrainingCheckpoint | undefined;
  let presetName: string;
  let architecture: StudentArchitecture;
  let settings: TrainingSettings;
  let tokenizer: Tokenizer;
  let base: LoadedBase | undefined;
  let growth: GrowthRun | undefined;
  if (options.resume) {
    await removeStagingLeftovers(options.outDirectory);
    resumeFrom = await resumeCheckpoint(options, dataHash);
    const { state } = resumeFrom;
    if (options.preset !== undefined && options.preset !== state.preset)
      throw new UserError(
        `--resume: the run in ${options.outDirectory} uses preset ${state.preset}, not ${options.preset}; fix --preset`,
      );
    ({ preset: presetName, architecture } = state);
    settings = checkResumeOverrides(options.overrides, state.settings);
    base = await resumeBase(options, state.base);
    tokenizer = await Tokenizer.load(options.outDirectory);
    const record = await readGrowthRecord(options.outDirectory);
    if (record !== undefined) growth = resumeGrowth(record, architecture, resumeFrom.weights);
  } else if (options.growExperts !== undefined || options.from !== undefined) {
    ({ growth, architecture, presetName, settings } = await prepareGrowth(options, dataStyle === 'compact'));
    tokenizer = await Tokenizer.load(options.outDirectory);
  } else if (options.base !== undefined) {
    await refuseExistingRun(options.outDirectory);
    if (options.overrides.vocabSize !== undefined)
      throw new UserError('--vocab-size trains a new tokenizer; a --base keeps its own: drop --vocab-size');
    base = await loadBase(options.base, options.lora ?? null, { chatTemplateFile: options.chatTemplateFile });
    const preset = pretrainedPreset(
      base.checkpoint,
      base.reference.lora,
      `base:${basename(base.reference.directory)}`,
    );
    presetName = preset.name;
    settings = resolveSettings(preset, options.overrides, dataStyle === 'compact' ? 'compact' : 'instruct');
    if (settings.sequenceLength > preset.architecture.maxPositionEmbeddings)
      throw new UserError(
        `the sequence length ${settings.sequenceLength} exceeds the base's context of ${preset.architecture.maxPositionEmbeddings}; lower it`,
      );
    architecture = base.checkpoint.architecture;
    tokenizer = await baseTokenizer(options.outDirectory, base);
  } else {
    if (options.lora !== undefined)
      throw new UserError(
        'LoRA adapts a pretrained model: give it with --base MODEL_DIR (or drop the --lora-* flags)',
      );
    if (options.preset === undefined)
      throw new UserError('give the student preset: --preset nano|tiny|small (or a preset JSON file)');
    if (await findLatestCheckpoint(options.outDirectory))
      throw new UserError(
        `${options.outDirectory} already holds a training run; pass --resume to continue it, or choose another --out (or delete it)`,
      );
    const preset = await loadPreset(options.preset);
    presetName = preset.name;
    settings = resolveSettings(preset, options.overrides, dataStyle === 'compact' ? 'compact' : 'instruct');
    if (settings.sequenceLength > preset.architecture.maxPositionEmbeddings)
      throw new UserError(
        `the sequence length ${settings.sequenceLength} exceeds the ${preset.name} context of ${preset.architecture.maxPositionEmbeddings}; lower it`,
      );
    await mkdir(options.outDirectory, { recursive: true });
    const split = splitValidation(styleExamples(written, settings, options.dataFile), settings.seed);
    tokenizer = await freshTokenizer(
      options,
      tokenizerTexts(split.train),
      settings,
      preset.architecture.maxPositionEmbeddings,
    );
    architecture = { ...preset.architecture, vocabSize: tokenizer.vocabSize };
  }
  if (!(await stat(join(options.outDirectory, tokenizerFileName)).catch(() => undefined)))
    throw new UserError(
      `${options.outDirectory} lacks ${tokenizerFileName}; the run directory is damaged: train afresh in another --out`,
    );
  const examples = styleExamples(written, settings, options.dataFile);
  const split = splitValidation(examples, settings.seed);
  const encode = (part: typeof examples) =>
    encodeExamples(tokenizer, part, settings.sequenceLength, settings.longExamples);
  const train = encode([...split.train, ...renamedCopies(split.train, settings.nameCopies, settings.seed)]);
  if (train.documents.length === 0)
    throw new UserError(
      `every training example of ${options.dataFile} is longer than the ${settings.sequenceLength}-token context; ` +
        'use --long-examples truncate or a preset with a longer sequenceLength',
    );
  return {
    presetName,
    architecture,
    settings,
    tokenizer,
    dataHash,
    train,
    validation: encode(split.validation),
    resumeFrom,
    base,
    growth,
  };
}

/** A fresh growth run: both flags, no base, no LoRA; the old student's preset supplies the defaults. */
async function prepareGrowth(options: TrainOptions, compact: boolean) {
  const { growExperts, from } = options;
  if (growExperts === undefined || from === undefined)
    throw new UserError(
      'growing experts needs both --grow-experts N and --from CHECKPOINT (the MoE student to grow)',
    );
  if (options.base !== undefined || options.lora !== undefined)
    throw new UserError(
      '--grow-experts grows a from-scratch MoE student: drop --base and the --lora-* flags',
    );
  if (options.overrides.vocabSize !== undefined)
    throw new UserError("--grow-experts keeps the old student's tokenizer: drop --vocab-size");
  await refuseExistingRun(options.outDirectory);
  await mkdir(options.outDirectory, { recursive: true });
  const { growth, architecture } = await startGrowth(from, growExperts, options.outDirectory, options.preset);
  const preset = await loadPreset(growth.record.preset);
  const settings = resolveSettings(preset, options.overrides, compact ? 'compact' : 'instruct');
  if (settings.sequenceLength > architecture.maxPositionEmbeddings)
    throw new UserError(
      `the sequence length ${settings.sequenceLength} exceeds the student's context of ${architecture.maxPositionEmbeddings}; lower it`,
    );
  return { growth, architecture, presetName: `${preset.name}+${growExperts}-experts`, settings };
}

async function refuseExistingRun(outDirectory: string): Promise<void> {
  if (await findLatestCheckpoint(outDirectory))
    throw new UserError(
      `${outDirectory} already holds a training run; pass --resume to continue it, or choose another --out (or delete it)`,
    );
}

/** The base of a resumed run: the one its checkpoint names, unchanged, with the same LoRA settings. */
async function resumeBase(
  options: TrainOptions,
  saved: BaseReference | null | undefined,
): Promise<LoadedBase | undefined> {
  if (saved === null || saved === undefined) {
    if (options.base !== undefined || options.lora !== undefined)
      throw new UserError(
        `--resume: the run in ${options.outDirectory} trains from scratch; drop --base and the --lora-* flags`,
      );
    return undefined;
  }
  if (options.lora !== undefined && JSON.stringify(options.lora) !== JSON.stringify(saved.lora))
    throw new UserError(
      `--resume: the run in ${options.outDirectory} trains ${saved.lora === null ? 'the whole base' : `LoRA ${JSON.stringify(saved.lora)}`}; ` +
        'drop the --lora-* flags (a resumed run keeps its own) or train afresh in another --out',
    );
  return loadBase(options.base ?? saved.directory, saved.lora, {
    chatTemplateFile: options.chatTemplateFile,
    expected: saved,
  });
}

/**
 * The base's own tokenizer (with the chat template in force, e.g. from --chat-template), written
 * into the run directory: checkpoints and exports take it from there, and --resume reads it back.
 */
async function baseTokenizer(outDirectory: string, base: LoadedBase): Promise<Tokenizer> {
  await writePretrainedTokenizerFiles(outDirectory, base.checkpoint.tokenizerFiles);
  return Tokenizer.load(outDirectory);
}
