/**
 * Routing metrics of a mixture-of-experts student (LibMoE's): per mixture layer, the share of
 * routing slots each expert received, the mean routing entropy, and the utilization, over the real
 * tokens (padding excluded) of a set of packed batches.
 *
 * - share_e = tokens routed to e / (tokens · k): sums to 1 over the experts;
 * - entropy = mean over tokens of −Σ_e p_e log p_e (nats) of the router softmax; at most log E;
 * - utilization = exp(−Σ_e share_e log share_e) / E: the effective number of experts the layer
 *   uses, as a fraction of E (1 when every expert gets the same share, 1/E when one gets all).
 */
import { Graph } from '../engine/graph.js';
import { serializeGraph } from '../engine/serialize.js';
import { EngineSession, type Feeds, tensor } from '../engine/session.js';
import { type StudentArchitecture } from './config.js';
import { studentWeightShapes } from './initialize.js';
import { declareLlamaParameters, llamaForward } from './llama-graph.js';
import { packedAttentionBias } from './attention-bias.js';

export interface LayerRouting {
  layer: number;
  shares: number[];
  entropy: number;
  utilization: number;
}

const names = {
  inputIds: 'input_ids',
  segmentIds: 'segment_ids',
  counts: (layer: number) => `routing.${layer}.counts`,
  entropy: (layer: number) => `routing.${layer}.entropy`,
  tokens: 'routing.tokens',
} as const;

/** Input ids and segment ids (B, T) in; per mixture layer the routed-token counts (E) and the entropy sum. */
function buildRoutingGraph(architecture: StudentArchitecture, rows: number, length: number): Graph {
  const g = new Graph('routing_metrics');
  const parameters = declareLlamaParameters(g, architecture);
  const inputIds = g.input(names.inputIds, 'int64', [rows, length]); // (B, T)
  const segmentIds = g.input(names.segmentIds, 'int64', [rows, length]); // (B, T)
  const real = g.reshape(g.cast(g.greater(segmentIds, g.scalar(0, 'int64')), 'float32'), [-1, 1]); // (B·T, 1)
  // As in training: packed documents attend only within themselves; the head runs on one row.
  const { routing } = llamaForward(g, architecture, parameters, {
    inputIds,
    attentionBias: packedAttentionBias(g, segmentIds, length),
    headRows: g.int64s([0]),
  });
  for (const { layer, probabilities, mask } of routing) {
    g.output(g.reduceSum(g.mul(mask, real), [0]), names.counts(layer)); // (E)
    const plogp = g.mul(probabilities, g.log(g.add(probabilities, 1e-20))); // (N, E)
    const entropy = g.neg(g.reduceSum(plogp, [1], true)); // (N, 1)
    g.output(g.sumAll(g.mul(entropy, real)), names.entropy(layer)); // ()
  }
  g.output(g.sumAll(real), names.tokens); // ()
  return g;
}

function layerMetrics(
  layer: number,
  counts: Float64Array,
  entropySum: number,
  tokens: number,
  topK: number,
): LayerRouting {
  const slots = Math.max(tokens * topK, 1);
  const shares = [...counts].map((count) => count / slots);
  const shareEntropy = -shares.reduce((sum, share) => sum + (share > 0 ? share * Math.log(share) : 0), 0);
  return {
    layer,
    shares,
    entropy: entropySum / Math.max(tokens, 1),
    utilization: Math.exp(shareEntropy) / shares.length,
  };
}

/** A session that measures routing over batches of a fixed (B, T) shape. */
export class RoutingMetrics {
  private constructor(
    private readonly session: EngineSession,
    private readonly architecture: StudentArchitecture,
    private readonly layers: number[],
  ) {}

  /** undefined for a dense student (nothing to measure). */
  static async create(
    architecture: StudentArchitecture,
    rows: number,
    length: number,
  ): Promise<RoutingMetrics | undefined> {
    if (architecture.moe === undefined) return undefined;
    const graph = buildRoutingGraph(architecture, rows, length);
    const layers = graph.outputs
      .map((output) => /^routing\.(\d+)\.counts$/.exec(output.name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]));
    return new RoutingMetrics(await EngineSession.create(serializeGraph(graph)), architecture, layers);
  }

  /** Routing over `batches` (each with int64 `input_ids` and `segment_ids` (B, T)) under `weights`. */
  async measure(
    weights: ReadonlyMap<string, Float32Array>,
    batches: readonly Feeds[],
  ): Promise<LayerRouting[]> {
    const experts = this.architecture.moe?.experts ?? 0;
    const counts = this.layers.map(() => new Float64Array(experts));
    const entropy = this.layers.map(() => 0);
    let tokens = 0;
    const weightFeeds: Feeds = {};
    for (const [name, shape] of studentWeightShapes(this.architecture)) {
      const value = weights.get(name);
      if (value === undefined) throw new Error(`RoutingMetrics: no weight ${name}`);
      weightFeeds[name] = tensor('float32', value, shape);
    }
    for (const batch of batches) {
      const outputs = await this.session.run({
        ...weightFeeds,
        [names.inputIds]: batch[names.inputIds],
        [names.segmentIds]: batch[names.segmentIds],
      });
      this.layers.forEach((layer, index) => {
        const batchCounts = outputs[names.counts(layer)].data as Float32Array;
        for (let expert = 0; expert < experts; expert += 1) counts[index][expert] += batchCounts[expert];
        entropy[index] += Number(outputs[names.entropy(layer)].data[0]);
      });
      tokens += Number(outputs[names.tokens].data[0]);
    }
    const topK = this.architecture.moe?.topK ?? 1;
    return this.layers.map((layer, index) =>
      layerMetrics(layer, counts[index], entropy[index], tokens, topK),
    );
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
