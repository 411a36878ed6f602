/**
 * Growth of a mixture-of-experts student (ModuleFormer's "new experts for new data"): every mixture
 * layer gets `added` new experts and router rows; training then changes only those, and every old
 * weight stays bit-identical.
 *
 * How the old router rows stay fixed while the router trains: the trainable tensor is the whole
 * `block_sparse_moe.gate.weight` (E_old + N, C), but the forward reads its old rows from a frozen
 * copy (`…gate.frozen_rows`, fed, never trained) and only rows E_old … E−1 from the parameter
 * (Slice), so the old rows' gradient is exactly 0; with no weight decay on the router, AdamW's
 * update of those rows is lr · 0 / (0 + ε) = 0, and they keep their bits. The new experts are
 * ordinary trainable tensors under their Mixtral names; everything else is frozen.
 */
import { type Value } from '../engine/graph-core.js';
import { type Graph } from '../engine/graph.js';
import { type FrozenSpec, type ParameterSpec, type TrainableModel } from '../engine/training-graphs.js';
import { type StudentArchitecture } from './config.js';
import { initializeWeights, studentWeightShapes } from './initialize.js';
import { llamaParameterSpecs } from './llama-graph.js';
import { isMixtureLayer, mixturePrefix, routerRowWidth, routerWeightName } from './moe-config.js';

/** The frozen copy of a layer's old router rows (E_old, C), or (E_old, D) for the cosine router. */
export const frozenRouterRowsName = (layer: number): string => `${mixturePrefix(layer)}.gate.frozen_rows`;

/** The architecture with `added` more experts in every mixture layer. */
export function growArchitecture(architecture: StudentArchitecture, added: number): StudentArchitecture {
  if (architecture.moe === undefined)
    throw new Error('growArchitecture: the student has no mixture-of-experts layers');
  const moe = architecture.moe;
  // The cosine router's projection keeps its dimension: only embedding rows are added.
  const pinned =
    moe.router === 'cosine' ? { routerDimension: routerRowWidth(moe, architecture.hiddenSize) } : {};
  return { ...architecture, moe: { ...moe, ...pinned, experts: moe.experts + added } };
}

function mixtureLayers(architecture: StudentArchitecture): number[] {
  return [...Array(architecture.numHiddenLayers).keys()].filter((layer) =>
    isMixtureLayer(architecture.moe, layer),
  );
}

/** Whether `name` is a tensor growth trains: a router, or an expert numbered `oldExperts` or above. */
export function isGrowthTrainable(name: string, oldExperts: number): boolean {
  if (name.endsWith('.block_sparse_moe.gate.weight')) return true;
  const match = /\.block_sparse_moe\.experts\.(\d+)\./.exec(name);
  return match !== null && Number(match[1]) >= oldExperts;
}

/** Trainable (routers without weight decay, new experts) and frozen specs of a growth run. */
export function growthSpecs(
  grown: StudentArchitecture,
  oldExperts: number,
): { parameters: ParameterSpec[]; frozen: FrozenSpec[] } {
  const parameters: ParameterSpec[] = [];
  const frozen: FrozenSpec[] = [];
  for (const spec of llamaParameterSpecs(grown)) {
    if (isGrowthTrainable(spec.name, oldExperts))
      parameters.push({ ...spec, decay: !spec.name.endsWith('.gate.weight') });
    else frozen.push({ name: spec.name, shape: spec.shape });
  }
  for (const layer of mixtureLayers(grown))
    frozen.push({
      name: frozenRouterRowsName(layer),
      shape: [oldExperts, routerRowWidth(grown.moe!, grown.hiddenSize)],
    });
  return { parameters, frozen };
}

/**
 * The parameter map the forward reads: each router is its frozen old rows followed by the
 * parameter's new rows, (E_old, C) ++ (N, C) → (E, C).
 */
export function growthForwardParameters(
  g: Graph,
  grown: StudentArchitecture,
  oldExperts: number,
  inputs: ReadonlyMap<string, Value>,
): Map<string, Value> {
  const experts = grown.moe?.experts ?? 0;
  const result = new Map(inputs);
  for (const layer of mixtureLayers(grown)) {
    const router = inputs.get(routerWeightName(layer)) as Value; // (E, C)
    const oldRows = inputs.get(frozenRouterRowsName(layer)) as Value; // (E_old, C)
    const newRows = g.slice(router, [oldExperts], [experts], [0]); // (N, C)
    result.set(routerWeightName(layer), g.concat([oldRows, newRows], 0)); // (E, C)
  }
  return result;
}

/** A growth run's model: `buildLoss(graph, forwardParameters)` is the student's ordinary loss. */
export function growthModel(
  grown: StudentArchitecture,
  oldExperts: number,
  buildLoss: (g: Graph, parameters: ReadonlyMap<string, Value>) => Value,
): TrainableModel {
  const { parameters, frozen } = growthSpecs(grown, oldExperts);
  return {
    parameters,
    frozen,
    buildLoss: (g, inputs) => buildLoss(g, growthForwardParameters(g, grown, oldExperts, inputs)),
  };
}

/**
 * The starting values of the trained tensors: the routers with the old rows as they were and new
 * rows, and the new experts, drawn as a fresh initialization of the grown student with `seed`.
 */
export function initialGrowthWeights(
  old: ReadonlyMap<string, Float32Array>,
  grown: StudentArchitecture,
  oldExperts: number,
  seed: number,
): Map<string, Float32Array> {
  const fresh = initializeWeights(grown, seed);
  const trained = new Map<string, Float32Array>();
  for (const spec of growthSpecs(grown, oldExperts).parameters) {
    const values = fresh.get(spec.name) as Float32Array;
    const previous = old.get(spec.name);
    if (spec.name.endsWith('.gate.weight') && previous !== undefined) values.set(previous);
    trained.set(spec.name, values);
  }
  return trained;
}

/** The frozen inputs' values, from the grown student's full weights (or the old student's). */
export function frozenGrowthValues(
  weights: ReadonlyMap<string, Float32Array>,
  grown: StudentArchitecture,
  oldExperts: number,
): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const spec of growthSpecs(grown, oldExperts).frozen) {
    const match = /^(.*\.block_sparse_moe)\.gate\.frozen_rows$/.exec(spec.name);
    const source = weights.get(match === null ? spec.name : `${match[1]}.gate.weight`);
    if (source === undefined) throw new Error(`frozenGrowthValues: no tensor for ${spec.name}`);
    values.set(
      spec.name,
      source.subarray(
        0,
        spec.shape.reduce((a, b) => a * b, 1),
      ),
    );
  }
  return values;
}

/** Every weight of the grown student: the frozen ones with the trained ones over them. */
export function grownWeights(
  frozen: ReadonlyMap<string, Float32Array>,
  trained: ReadonlyMap<string, Float32Array>,
  grown: StudentArchitecture,
): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  for (const name of studentWeightShapes(grown).keys()) {
    const value = trained.get(name) ?? frozen.get(name);
    if (value === undefined) throw new Error(`grownWeights: no tensor ${name}`);
    weights.set(name, value);
  }
  return weights;
}
