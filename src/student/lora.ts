/**
 * LoRA as PEFT defines it (peft/tuners/lora/layer.py, `LoraLayer.update_layer` and `Linear.forward`):
 * for a target Linear W (out, in),
 *
 *   y = x Wᵀ (+ bias) + (alpha / r) · dropout(x) Aᵀ Bᵀ,   A (r, in), B (out, r)
 *
 * dropout(x) is PEFT's `lora_dropout` on the LoRA path's input alone, one independent ONNX Dropout per
 * adapted module, and only in a training graph (`Graph.training`): validation loss, export, merge and
 * inference see the plain x. The frozen path x Wᵀ never sees dropout.
 *
 * A starts Kaiming-uniform with a = √5 (PEFT's default `init_lora_weights=True`, which for a (r, in)
 * matrix is U(−1/√in, 1/√in)), B starts at zero, so a fresh adapter changes nothing. The LoRA path is
 * computed as (x Aᵀ) Bᵀ — two thin products — and never as x (W + s·B A)ᵀ, so a training step pays no
 * (out, in) product for the frozen weight's gradient.
 *
 * Names follow the base weight's: `model.layers.0.self_attn.q_proj.lora_A.weight` (PEFT writes these
 * under `base_model.model.` in adapter files; see src/export/peft-adapter.ts).
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { type Value } from '../engine/graph-core.js';
import { type Graph } from '../engine/graph.js';
import { type ParameterSpec } from '../engine/training-graphs.js';
import { projectionNames, type ProjectionName, type StudentArchitecture } from './config.js';
import { studentWeightShapes } from './initialize.js';
import { type ProjectionAdapter } from './llama-graph.js';

/** PEFT's `LoraConfig` defaults: lora_alpha 8, lora_dropout 0. */
export const loraDefaults = {
  alpha: 8,
  dropout: 0,
  /** Every Linear of a decoder layer (PEFT's "all-linear" for a Llama-family model). */
  targets: [...projectionNames] as ProjectionName[],
} as const;

export const loraSettingsSchema = z.strictObject({
  rank: z.number().int().positive(),
  alpha: z.number().positive(),
  dropout: z
    .number()
    .min(0, 'LoRA dropout is a probability: give a number from 0 (off, PEFT default) up to below 1')
    .lt(1, 'LoRA dropout must be below 1 (1 would drop every input); PEFT uses 0.05 or 0.1'),
  targets: z
    .array(z.enum(projectionNames, { error: `LoRA targets must be among ${projectionNames.join(', ')}` }))
    .min(1),
});

export type LoraSettings = z.infer<typeof loraSettingsSchema>;

/** Reads `--lora-targets q_proj,v_proj`: one-line error naming the valid modules. */
export function parseLoraTargets(list: string): ProjectionName[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !(projectionNames as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0)
    throw new UserError(
      `--lora-targets: unknown module ${unknown.length > 0 ? unknown.map((name) => `'${name}'`).join(', ') : '(none given)'}; ` +
        `choose among ${projectionNames.join(', ')} (comma-separated)`,
    );
  return [...new Set(names)] as ProjectionName[];
}

/** The PEFT scale of the LoRA path: alpha / r. */
export const loraScaling = (settings: Pick<LoraSettings, 'alpha' | 'rank'>): number =>
  settings.alpha / settings.rank;

const attentionProjections = new Set<ProjectionName>(['q_proj', 'k_proj', 'v_proj', 'o_proj']);

/** `model.layers.L.self_attn.q_proj` / `model.layers.L.mlp.up_proj`: the module a LoRA pair adapts. */
export function projectionModule(layer: number, projection: ProjectionName): string {
  return `model.layers.${layer}.${attentionProjections.has(projection) ? 'self_attn' : 'mlp'}.${projection}`;
}

export const loraNames = {
  a: (layer: number, projection: ProjectionName): string =>
    `${projectionModule(layer, projection)}.lora_A.weight`,
  b: (layer: number, projection: ProjectionName): string =>
    `${projectionModule(layer, projection)}.lora_B.weight`,
};

export interface LoraPair {
  layer: number;
  projection: ProjectionName;
  /** (out, in) of the adapted weight. */
  out: number;
  in: number;
}

/** Every adapted module of the architecture, layer by layer, in `settings.targets` order. */
export function loraPairs(architecture: StudentArchitecture, settings: LoraSettings): LoraPair[] {
  const shapes = studentWeightShapes(architecture);
  const pairs: LoraPair[] = [];
  for (let layer = 0; layer < architecture.numHiddenLayers; layer += 1) {
    for (const projection of settings.targets) {
      const shape = shapes.get(`${projectionModule(layer, projection)}.weight`);
      if (shape === undefined)
        throw new Error(`the architecture has no ${projectionModule(layer, projection)}`);
      pairs.push({ layer, projection, out: shape[0], in: shape[1] });
    }
  }
  return pairs;
}

/** A (r, in) and B (out, r) of every pair; both take AdamW weight decay as PEFT + Trainer do. */
export function loraParameterSpecs(
  architecture: StudentArchitecture,
  settings: LoraSettings,
): ParameterSpec[] {
  return loraPairs(architecture, settings).flatMap((pair) => [
    { name: loraNames.a(pair.layer, pair.projection), shape: [settings.rank, pair.in], decay: true },
    { name: loraNames.b(pair.layer, pair.projection), shape: [pair.out, settings.rank], decay: true },
  ]);
}

/** PEFT's initialization: A ~ U(−1/√in, 1/√in) (Kaiming-uniform, a = √5), B = 0; seeded. */
export function initializeLora(
  architecture: StudentArchitecture,
  settings: LoraSettings,
  seed: number,
): Map<string, Float32Array> {
  const random = xoroshiro128plus(seed);
  const weights = new Map<string, Float32Array>();
  for (const pair of loraPairs(architecture, settings)) {
    const bound = 1 / Math.sqrt(pair.in); // gain √(2 / (1 + 5)) · √(3 / fan_in)
    const a = new Float32Array(settings.rank * pair.in);
    for (let index = 0; index < a.length; index += 1) a[index] = (2 * uniformFloat64(random) - 1) * bound;
    weights.set(loraNames.a(pair.layer, pair.projection), a);
    weights.set(loraNames.b(pair.layer, pair.projection), new Float32Array(pair.out * settings.rank));
  }
  return weights;
}

/** The LoRA path of one module: scaling · (x Aᵀ) Bᵀ; x (N, in), A (r, in), B (out, r) → (N, out). */
export function loraDelta(g: Graph, x: Value, a: Value, b: Value, scaling: number): Value {
  const down = g.gemm(x, a, null, { transposeB: true }); // (N, r)
  return g.gemm(down, b, null, { transposeB: true, alpha: scaling }); // (N, out)
}

/**
 * The seed of one module's Dropout node: FNV-1a over the run's dropout seed and the module name, so
 * every module draws its own masks and the same run seed gives the same masks.
 */
export function loraDropoutSeed(dropoutSeed: number, module: string): number {
  let hash = 0x811c9dc5;
  for (const character of `${dropoutSeed}:${module}`) {
    hash ^= character.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash & 0x7fffffff;
}

/**
 * The forward's adapter hook (src/student/llama-graph.ts `projection`): the LoRA path of every module
 * whose A and B are in `values`, scaled by alpha / r and by the projection's own scale. In a training
 * graph with `settings.dropout` > 0 the path's input goes through Dropout first (seeded per module from
 * `dropoutSeed`); elsewhere, or at dropout 0, the graph is exactly the one without dropout.
 */
export function loraAdapter(
  g: Graph,
  values: ReadonlyMap<string, Value>,
  settings: Pick<LoraSettings, 'alpha' | 'rank'> & Partial<Pick<LoraSettings, 'dropout'>>,
  dropoutSeed = 0,
): ProjectionAdapter {
  const scaling = loraScaling(settings);
  const dropout = g.training ? (settings.dropout ?? 0) : 0;
  return (module, input, scale) => {
    const a = values.get(`${module}.lora_A.weight`);
    const b = values.get(`${module}.lora_B.weight`);
    if (a === undefined || b === undefined) return undefined;
    const dropped =
      dropout > 0 ? g.dropout(input, dropout, loraDropoutSeed(dropoutSeed, module)).output : input; // (N, in)
    return loraDelta(g, dropped, a, b, scaling * scale); // (N, out)
  };
}

/**
 * W + (alpha / r) · B A for every adapted module (new arrays; the base's are not changed); other
 * weights are passed through as they are. In plain loops: r is small, so this is
 * out·in·r multiply-adds per module, done once per export.
 */
export function mergeLora(
  architecture: StudentArchitecture,
  baseWeights: ReadonlyMap<string, Float32Array>,
  settings: LoraSettings,
  adapter: ReadonlyMap<string, Float32Array>,
): Map<string, Float32Array> {
  const merged = new Map(baseWeights);
  const scaling = loraScaling(settings);
  const { rank } = settings;
  for (const pair of loraPairs(architecture, settings)) {
    const name = `${projectionModule(pair.layer, pair.projection)}.weight`;
    const base = baseWeights.get(name);
    const a = adapter.get(loraNames.a(pair.layer, pair.projection));
    const b = adapter.get(loraNames.b(pair.layer, pair.projection));
    if (base === undefined || a === undefined || b === undefined)
      throw new Error(`mergeLora: ${name} or its LoRA pair is missing`);
    const result = Float32Array.from(base);
    for (let row = 0; row < pair.out; row += 1) {
      for (let k = 0; k < rank; k += 1) {
        const coefficient = scaling * b[row * rank + k];
        if (coefficient === 0) continue;
        const aRow = k * pair.in;
        const outRow = row * pair.in;
        for (let column = 0; column < pair.in; column += 1)
          result[outRow + column] += coefficient * a[aRow + column];
      }
    }
    merged.set(name, result);
  }
  return merged;
}
