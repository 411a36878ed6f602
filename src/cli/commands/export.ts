/**
 * `dnc export CHECKPOINT_DIR --out BRICK_DIR [--json]`: a trained student checkpoint becomes a
 * brick directory in the Hugging Face ONNX layout (see src/export/).
 */
import type { Command } from 'commander';
import { copyNamesRecipe } from '../../decoding/copy-names/recipe.js';
import { decodingRecipes } from '../../decoding/registry.js';
import { formatZodError } from '../../data/zod-format.js';
import {
  brickDecodingSchema,
  brickManifestFileName,
  lineagePromptStyle,
  type BrickDecoding,
} from '../../bricks/brick-manifest.js';
import { type Checkpoint, readCheckpoint } from '../../export/checkpoint.js';
import { readPeftAdapter, writePeftAdapter } from '../../export/peft-adapter.js';
import { adapterHash, type AdapterLineage } from '../../bricks/adapter-lineage.js';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../data/jsonl.js';
import { exportBrick } from '../../export/export-brick.js';
import type { QuantizeMode } from '../../export/quantize-onnx.js';
import { log, printJson, printText } from '../output.js';
import { UserError } from '../../errors/user-error.js';

interface ExportOptions {
  out?: string;
  decoding?: string;
  json?: boolean;
  copyBias?: string;
  copyScope?: string;
  copyConstraint?: boolean;
  nameOrder?: boolean;
  promptWordBias?: string;
  adapterOnly?: boolean;
  quantize?: string;
}

/**
 * The decoding recipe `--decoding` turns on (none by default; src/decoding) with the flags
 * applied over its defaults, checked like brick.json.
 */
function decodingOf(options: ExportOptions): BrickDecoding | undefined {
  const flags: Record<string, unknown> = {};
  if (options.copyBias !== undefined) flags.copyBias = Number(options.copyBias);
  if (options.copyScope !== undefined) flags.copyScope = options.copyScope;
  if (options.copyConstraint === false) flags.copyConstraint = false;
  if (options.nameOrder === false) flags.nameOrder = false;
  if (options.promptWordBias !== undefined) flags.promptWordBias = Number(options.promptWordBias);
  const recipe = options.decoding ?? 'none';
  if (recipe === 'none') {
    if (Object.keys(flags).length > 0)
      throw new UserError(
        `${Object.keys(flags).join(', ')} tune a decoding recipe; turn one on with --decoding copy-names`,
      );
    return undefined;
  }
  if (!decodingRecipes.has(recipe))
    throw new UserError(
      `--decoding ${recipe} is not a decoding recipe; use ${[...decodingRecipes.keys()].join(', ')} or none`,
    );
  const parsed = brickDecodingSchema.safeParse(flags);
  if (!parsed.success)
    throw new UserError(
      `invalid decoding flags: ${formatZodError(parsed.error)}; --copy-bias takes a number ≥ 0 ` +
        '(0 turns it off), --prompt-word-bias a number ≥ 0, and --copy-scope `word` or `any`',
    );
  return { recipe: { id: recipe, version: decodingRecipes.get(recipe)!.version }, ...parsed.data };
}

/** `--quantize int8|int4` (absent: float32). */
function quantizeOf(value: string | undefined): QuantizeMode | undefined {
  if (value === undefined) return undefined;
  if (value !== 'int8' && value !== 'int4')
    throw new UserError(`--quantize ${value} is not a quantization; use --quantize int8 or --quantize int4`);
  return value;
}

async function runExport(checkpointDirectory: string, options: ExportOptions): Promise<void> {
  if (options.out === undefined || options.out.trim() === '')
    throw new UserError('give the brick directory to write: --out BRICK_DIR');
  const quantize = quantizeOf(options.quantize);
  const checkpoint = await readCheckpoint(checkpointDirectory);
  if (options.adapterOnly === true) return exportAdapter(checkpointDirectory, checkpoint, options);
  const decoding = decodingOf(options);
  let result;
  try {
    result = await exportBrick({ ...checkpoint, outDirectory: options.out, decoding, quantize });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`export of ${checkpointDirectory} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const summary = {
    out: result.outDirectory,
    role: result.manifest.role,
    parameters: result.manifest.parameters,
    modelBytes: result.modelBytes,
    ...(result.manifest.quantization !== undefined ? { quantization: result.manifest.quantization } : {}),
  };
  if (options.json === true) printJson(summary);
  else {
    log(`exported a ${summary.role} brick (${summary.parameters} parameters)`);
    printText(summary.out);
  }
}

/** `--adapter-only`: the LoRA adapter alone, in PEFT's format (src/export/peft-adapter.ts). */
async function exportAdapter(
  directory: string,
  checkpoint: Checkpoint,
  options: ExportOptions,
): Promise<void> {
  const lora = checkpoint.base?.lora;
  if (
    checkpoint.base === undefined ||
    lora === null ||
    lora === undefined ||
    checkpoint.adapter === undefined
  )
    throw new UserError(
      `${directory} was not trained with LoRA (dnc train --base DIR --lora-rank R), so it has no adapter; export it without --adapter-only`,
    );
  const files = await writePeftAdapter({
    architecture: checkpoint.architecture,
    settings: lora,
    weights: checkpoint.adapter,
    baseModel: checkpoint.base.directory,
    outDirectory: options.out!,
  });
  // The lineage `dnc bricks merge|update` check: the base's weights hash (a base changed on disk is
  // refused), the adapter's hash read back from the written files (as merge computes it), version 1.
  const written = await readPeftAdapter(options.out!, checkpoint.architecture);
  const lineage: AdapterLineage = {
    baseWeightsHash: checkpoint.base.weightsHash,
    adapterHash: adapterHash(written.settings, written.weights),
    version: 1,
    createdAt: new Date().toISOString(),
    source: resolve(directory),
    history: [],
  };
  // brick.json beside the PEFT files makes the directory a brick: the runtime merges it on load.
  const manifestFile = join(options.out!, brickManifestFileName);
  await writeFileAtomic(
    manifestFile,
    `${JSON.stringify(
      {
        specificationVersion: 'v1',
        kind: 'lora-adapter',
        role: checkpoint.role,
        base: checkpoint.base.directory,
        adapter: '.',
        promptStyle: lineagePromptStyle(checkpoint.lineage),
        lineage,
      },
      null,
      2,
    )}\n`,
  );
  files.push(manifestFile);
  const summary = { out: resolve(options.out!), files, base: checkpoint.base.directory, rank: lora.rank };
  if (options.json === true) printJson(summary);
  else {
    log(
      `exported a LoRA adapter (r ${lora.rank}, ${lora.targets.join(', ')}) of ${checkpoint.base.directory}`,
    );
    printText(summary.out);
  }
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export a trained student checkpoint as a brick directory (Hugging Face ONNX layout)')
    .argument('<checkpoint>', 'checkpoint directory (model.safetensors, student.json, tokenizer files)')
    .option('--out <dir>', 'brick directory to write (replaced atomically)')
    .option(
      '--decoding <recipe>',
      `decoding recipe recorded in brick.json: ${[...decodingRecipes.keys()].join(', ')} or none (default none; see docs/decoding.md)`,
    )
    .option(
      '--copy-bias <x>',
      `score added to tokens that continue copying the prompt (copy-names default ${copyNamesRecipe.defaults.copyBias}, 0: off)`,
    )
    .option('--copy-scope <scope>', 'tokens the copy bias may raise: word (default) or any')
    .option('--no-copy-constraint', 'let the brick spell capitalized words that are not in the prompt')
    .option(
      '--prompt-word-bias <x>',
      `score added to tokens that start a lower-case word of the prompt (copy-names default ${copyNamesRecipe.defaults.promptWordBias}, 0: off)`,
    )
    .option('--no-name-order', 'let the brick order, shorten and start names unlike the prompt')
    .option(
      '--adapter-only',
      'write the LoRA adapter alone in PEFT format (adapter_config.json, adapter_model.safetensors)',
    )
    .option(
      '--quantize <mode>',
      'int8 or int4: quantized projections and head in onnx/model.onnx (model.safetensors stays float32)',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(runExport);
}
