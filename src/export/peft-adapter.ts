/**
 * A LoRA adapter in PEFT's on-disk format (what `PeftModel.from_pretrained(base, DIR)` reads):
 *
 *   adapter_config.json        { peft_type: "LORA", r, lora_alpha, lora_dropout, target_modules,
 *                                base_model_name_or_path, task_type: "CAUSAL_LM", bias: "none",
 *                                fan_in_fan_out: false, ... }
 *   adapter_model.safetensors  base_model.model.model.layers.L.self_attn.q_proj.lora_A.weight (r, in)
 *                              base_model.model.model.layers.L.self_attn.q_proj.lora_B.weight (out, r)
 *
 * PEFT saves tensors without the adapter name ("default"), so these names are what it writes too.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { formatZodError } from '../data/zod-format.js';
import { projectionNames, type StudentArchitecture } from '../student/config.js';
import { loraNames, loraPairs, type LoraSettings, loraSettingsSchema } from '../student/lora.js';
import { encodeSafetensors, readSafetensors, type Tensor } from '../student/safetensors.js';

export const peftFiles = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' } as const;

/** PEFT's prefix of every tensor name in a saved adapter of a causal LM. */
export const peftPrefix = 'base_model.model.';

export const peftAdapterConfigSchema = z.looseObject({
  peft_type: z.literal('LORA', { error: 'peft_type must be "LORA" (dnc reads LoRA adapters only)' }),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).max(1).default(0),
  target_modules: z.union([z.array(z.enum(projectionNames)), z.string()]),
  base_model_name_or_path: z.string().nullable().optional(),
  task_type: z.string().nullable().optional(),
  bias: z.literal('none', { error: 'bias must be "none" (dnc adapters train no biases)' }).default('none'),
  fan_in_fan_out: z
    .literal(false, { error: 'fan_in_fan_out must be false (Llama-family Linear layers)' })
    .default(false),
  use_rslora: z
    .literal(false, { error: 'use_rslora adapters are not supported; dnc scales by alpha / r' })
    .default(false),
  use_dora: z.literal(false, { error: 'DoRA adapters are not supported' }).default(false),
});

export interface PeftAdapter {
  settings: LoraSettings;
  /** Tensors under dnc's names (`model.layers.0.self_attn.q_proj.lora_A.weight`). */
  weights: Map<string, Float32Array>;
  baseModel: string | null;
}

export interface WritePeftAdapterInput {
  architecture: StudentArchitecture;
  settings: LoraSettings;
  /** LoRA A and B under dnc's names. */
  weights: ReadonlyMap<string, Float32Array>;
  /** Recorded as `base_model_name_or_path` (the base directory the adapter was trained on). */
  baseModel: string;
  outDirectory: string;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

export function peftAdapterConfig(settings: LoraSettings, baseModel: string) {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: settings.rank,
    lora_alpha: settings.alpha,
    lora_dropout: settings.dropout,
    target_modules: [...settings.targets],
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
}

/** Writes adapter_config.json and adapter_model.safetensors (each atomically) into `outDirectory`. */
export async function writePeftAdapter(input: WritePeftAdapterInput): Promise<string[]> {
  const { architecture, settings, weights } = input;
  const tensors = new Map<string, Tensor>();
  for (const pair of loraPairs(architecture, settings)) {
    for (const [name, shape] of [
      [loraNames.a(pair.layer, pair.projection), [settings.rank, pair.in]],
      [loraNames.b(pair.layer, pair.projection), [pair.out, settings.rank]],
    ] as const) {
      const data = weights.get(name);
      if (data === undefined) throw new Error(`writePeftAdapter: the adapter lacks ${name}`);
      tensors.set(`${peftPrefix}${name}`, { shape: [...shape], data });
    }
  }
  await mkdir(input.outDirectory, { recursive: true });
  const files = [join(input.outDirectory, peftFiles.weights), join(input.outDirectory, peftFiles.config)];
  await writeFileAtomic(files[0], encodeSafetensors(tensors, { format: 'pt' }));
  await writeFileAtomic(files[1], json(peftAdapterConfig(settings, input.baseModel)));
  return files;
}

/** Reads a PEFT LoRA adapter directory for `architecture`, checking every tensor's name and shape. */
export async function readPeftAdapter(
  directory: string,
  architecture: StudentArchitecture,
): Promise<PeftAdapter> {
  const configFile = join(directory, peftFiles.config);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configFile, 'utf8'));
  } catch (error) {
    throw new UserError(
      `cannot read ${configFile} (${(error as Error).message}); point at a PEFT adapter directory`,
      {
        cause: error,
      },
    );
  }
  const parsed = peftAdapterConfigSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(`${configFile}: ${formatZodError(parsed.error)}`);
  const config = parsed.data;
  if (typeof config.target_modules === 'string')
    throw new UserError(
      `${configFile}: target_modules "${config.target_modules}" is a pattern; dnc reads adapters that list their modules (${projectionNames.join(', ')})`,
    );
  const settings = loraSettingsSchema.parse({
    rank: config.r,
    alpha: config.lora_alpha,
    dropout: 0, // dropout is a training-time setting; it does not change the adapter's weights
    targets: config.target_modules,
  });
  const weightsFile = join(directory, peftFiles.weights);
  const { tensors } = await readSafetensors(weightsFile);
  const weights = new Map<string, Float32Array>();
  for (const pair of loraPairs(architecture, settings)) {
    for (const [name, shape] of [
      [loraNames.a(pair.layer, pair.projection), [settings.rank, pair.in]],
      [loraNames.b(pair.layer, pair.projection), [pair.out, settings.rank]],
    ] as const) {
      const tensor =
        tensors.get(`${peftPrefix}${name}`) ??
        tensors.get(`${peftPrefix}${name.replace('.weight', '.default.weight')}`);
      if (tensor === undefined)
        throw new UserError(`${weightsFile} lacks ${peftPrefix}${name}; the adapter does not match the base`);
      if (tensor.shape.join(',') !== shape.join(','))
        throw new UserError(
          `${weightsFile}: ${peftPrefix}${name} has shape [${tensor.shape.join(', ')}] but the base needs [${shape.join(', ')}]`,
        );
      weights.set(name, tensor.data);
    }
  }
  return { settings, weights, baseModel: config.base_model_name_or_path ?? null };
}
